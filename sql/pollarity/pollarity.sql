USE [ontimepollarity]
GO
-- Reference create script of the OnTime Pollarity (polls) database, schema version 1.0.
-- The vendor's real scripts are not public: this file only has their shape.
-- The script engine retargets the USE above to the database being created.
CREATE SCHEMA api AUTHORIZATION dbo;
GO
CREATE ROLE api_role AUTHORIZATION dbo;
GO
GRANT SELECT, EXECUTE ON SCHEMA::api TO api_role;
GO
CREATE TABLE dbo.polls (
    poll_id int IDENTITY(1,1) NOT NULL CONSTRAINT PK_polls PRIMARY KEY,
    owner_login nvarchar(256) NOT NULL,
    question nvarchar(1000) NOT NULL,
    created_at datetime2(0) NOT NULL CONSTRAINT DF_polls_created_at DEFAULT SYSUTCDATETIME()
);
GO
CREATE TABLE dbo.poll_options (
    option_id int IDENTITY(1,1) NOT NULL CONSTRAINT PK_poll_options PRIMARY KEY,
    poll_id int NOT NULL CONSTRAINT FK_poll_options_poll REFERENCES dbo.polls (poll_id),
    label nvarchar(256) NOT NULL
);
GO
EXEC sys.sp_addextendedproperty
    @name = N'compatibility_major', @value = N'1',
    @level0type = N'SCHEMA', @level0name = N'api';
EXEC sys.sp_addextendedproperty
    @name = N'compatibility_minor', @value = N'0',
    @level0type = N'SCHEMA', @level0name = N'api';
GO

USE [ontimems]
GO
-- Reference create script of the OnTime main database, schema version 25.8.
-- The vendor's real scripts are not public: this file has the vendor's shape
-- (leading USE, api schema, api_role, version extended properties) and is the
-- base of ontime_db's reference migration set, not the vendor's schema.
-- The script engine retargets the USE above to the database being created.
CREATE SCHEMA api AUTHORIZATION dbo;
GO
CREATE ROLE api_role AUTHORIZATION dbo;
GO
GRANT SELECT, EXECUTE ON SCHEMA::api TO api_role;
GO
CREATE TABLE dbo.users (
    user_id int IDENTITY(1,1) NOT NULL CONSTRAINT PK_users PRIMARY KEY,
    login nvarchar(256) NOT NULL CONSTRAINT UQ_users_login UNIQUE,
    display_name nvarchar(256) NOT NULL,
    email nvarchar(320) NULL,
    is_active bit NOT NULL CONSTRAINT DF_users_is_active DEFAULT 1,
    created_at datetime2(0) NOT NULL CONSTRAINT DF_users_created_at DEFAULT SYSUTCDATETIME()
);
GO
CREATE TABLE dbo.groups (
    group_id int IDENTITY(1,1) NOT NULL CONSTRAINT PK_groups PRIMARY KEY,
    name nvarchar(256) NOT NULL CONSTRAINT UQ_groups_name UNIQUE,
    description nvarchar(1000) NULL
);
GO
CREATE TABLE dbo.group_members (
    group_id int NOT NULL CONSTRAINT FK_group_members_group REFERENCES dbo.groups (group_id),
    user_id int NOT NULL CONSTRAINT FK_group_members_user REFERENCES dbo.users (user_id),
    CONSTRAINT PK_group_members PRIMARY KEY (group_id, user_id)
);
GO
CREATE TABLE dbo.calendars (
    calendar_id int IDENTITY(1,1) NOT NULL CONSTRAINT PK_calendars PRIMARY KEY,
    owner_user_id int NOT NULL CONSTRAINT FK_calendars_owner REFERENCES dbo.users (user_id),
    name nvarchar(256) NOT NULL,
    color char(7) NULL
);
GO
CREATE TABLE dbo.settings (
    setting_name nvarchar(128) NOT NULL CONSTRAINT PK_settings PRIMARY KEY,
    setting_value nvarchar(max) NULL
);
GO
CREATE PROCEDURE api.list_users
AS
BEGIN
    SET NOCOUNT ON;
    SELECT user_id, login, display_name, email
    FROM dbo.users
    WHERE is_active = 1
    ORDER BY user_id;
END
GO
EXEC sys.sp_addextendedproperty
    @name = N'compatibility_major', @value = N'25',
    @level0type = N'SCHEMA', @level0name = N'api';
EXEC sys.sp_addextendedproperty
    @name = N'compatibility_minor', @value = N'8',
    @level0type = N'SCHEMA', @level0name = N'api';
GO

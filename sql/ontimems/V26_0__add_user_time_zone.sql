-- Reference migration to schema version 26.0 (ontime_db's reference set, not the vendor's script).
-- Every user gets a time zone. Existing rows take the default N'UTC'
-- because the column is NOT NULL with a named default.
ALTER TABLE dbo.users
    ADD time_zone nvarchar(64) NOT NULL
        CONSTRAINT DF_users_time_zone DEFAULT N'UTC';
GO

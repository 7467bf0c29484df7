-- Reference migration to schema version 26.2 (ontime_db's reference set, not the vendor's script).
-- Settings become per user. Each global setting named 'default.<name>' is
-- copied to every user as '<name>', so users keep today's behaviour.
CREATE TABLE dbo.user_settings (
    user_id int NOT NULL
        CONSTRAINT FK_user_settings_user REFERENCES dbo.users (user_id) ON DELETE CASCADE,
    setting_name nvarchar(128) NOT NULL,
    setting_value nvarchar(max) NULL,
    CONSTRAINT PK_user_settings PRIMARY KEY (user_id, setting_name)
);
GO
INSERT INTO dbo.user_settings (user_id, setting_name, setting_value)
SELECT u.user_id, SUBSTRING(s.setting_name, 9, 128), s.setting_value
FROM dbo.users AS u
CROSS JOIN dbo.settings AS s
WHERE s.setting_name LIKE N'default.%';
GO

-- Reference migration to schema version 26.3 (ontime_db's reference set, not the vendor's script).
-- api.list_users also returns each user's time zone and creation time.
-- CREATE OR ALTER needs SQL Server 2016 SP1 or later.
CREATE OR ALTER PROCEDURE api.list_users
AS
BEGIN
    SET NOCOUNT ON;
    SELECT user_id, login, display_name, email, time_zone, created_at
    FROM dbo.users
    WHERE is_active = 1
    ORDER BY user_id;
END
GO

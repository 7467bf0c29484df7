-- Reference migration to schema version 26.3 (ontime_db's reference set, not the vendor's script).
-- api.list_users also returns each user's time zone and creation time.
-- CREATE OR ALTER needs SQL Server 2016 SP1, and OnTime's bundled SQL Server
-- Express 2016 may run without a service pack. So a stub is created when the
-- procedure is missing, and ALTER PROCEDURE in the next batch replaces its
-- body. ALTER keeps the procedure's permissions, which DROP and CREATE would lose.
IF OBJECT_ID(N'api.list_users', N'P') IS NULL
    EXEC (N'CREATE PROCEDURE api.list_users AS RETURN 0;');
GO
ALTER PROCEDURE api.list_users
AS
BEGIN
    SET NOCOUNT ON;
    SELECT user_id, login, display_name, email, time_zone, created_at
    FROM dbo.users
    WHERE is_active = 1
    ORDER BY user_id;
END
GO

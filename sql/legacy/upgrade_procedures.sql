/*
Reference procedures: dbo.UPGRADE_9_3 and dbo.UPGRADE_15_0.

This is not the vendor's script. The vendor's legacy scripts are not public,
so ontime_db ships this reference set in their shape. Run it in the NEW
database after the 25.8 create script (sql/ontimems/ontimems.sql). It has no
USE line, because only the caller knows the new database's name.

The legacy route then runs, in the new database:

    DECLARE @rc int;
    EXEC @rc = dbo.UPGRADE_9_3 @olddb = N'ontimems.9.3';

Each procedure copies every row of the old database at its schema version
into the 25.8 tables, keeps the ids, and never writes to the old database.
It reports each table copied with a message and returns:

    0  success: every table was copied, in one transaction
    1  the database @olddb does not exist
    2  the database @olddb is not at the procedure's schema version
    3  the copy failed; it was rolled back, so the new database is unchanged
    4  the caller has a transaction open; nothing was done

These failures come back as a return value with an explaining message
(RAISERROR severity 10), not as an error. An error of severity 11 or more
inside a caller's TRY block would jump to the caller's CATCH block and skip
the RETURN, so such a caller could never read the code. Reading the old
database's version happens before the TRY block, so an old database that
is offline or unreadable still reaches the caller as an error.

Each procedure is defined in two batches: a stub is created when it is
missing, and ALTER PROCEDURE then gives it its body. CREATE OR ALTER would
need SQL Server 2016 SP1, but OnTime's bundled SQL Server Express 2016 may
run without a service pack. ALTER keeps the permissions granted on a
procedure, which DROP and CREATE would lose. The stub takes no parameters,
so a call with @olddb fails with an error if the ALTER batch did not run.

The old database's name goes into the dynamic SQL only as QUOTENAME(@olddb),
so names such as ontimems.9.3, my db, we]ird or O'Hare stay one name. SET
IDENTITY_INSERT runs inside each dynamic batch, so SQL Server turns it off
again when that batch ends, even after an error.
*/
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO
IF OBJECT_ID(N'dbo.UPGRADE_9_3', N'P') IS NULL
    EXEC (N'CREATE PROCEDURE dbo.UPGRADE_9_3 AS RETURN 0;');
GO
ALTER PROCEDURE dbo.UPGRADE_9_3
    @olddb sysname
AS
BEGIN
    SET XACT_ABORT ON;
    SET NOCOUNT ON;
    -- The SQL Server ODBC driver turns implicit transactions on in manual-commit
    -- mode, and then the version query below would open a transaction that
    -- outlives the procedure. SQL Server restores the setting on return.
    SET IMPLICIT_TRANSACTIONS OFF;

    DECLARE @source nvarchar(258) = QUOTENAME(@olddb);
    DECLARE @sql nvarchar(max);
    DECLARE @major nvarchar(128);
    DECLARE @minor nvarchar(128);
    DECLARE @rows int;

    IF @@TRANCOUNT > 0
    BEGIN
        RAISERROR(N'UPGRADE_9_3: a transaction is open. Commit or roll it back first, because the procedure runs the copy in its own transaction.', 10, 1);
        RETURN 4;
    END;

    IF DB_ID(@olddb) IS NULL
    BEGIN
        RAISERROR(N'UPGRADE_9_3: database ''%s'' was not found. Pass the name of the old OnTime database as @olddb.', 10, 1, @olddb);
        RETURN 1;
    END;

    SET @sql = N'
SELECT @major = MAX(CASE WHEN p.name = N''compatibility_major'' THEN CAST(p.value AS nvarchar(128)) END),
       @minor = MAX(CASE WHEN p.name = N''compatibility_minor'' THEN CAST(p.value AS nvarchar(128)) END)
FROM ' + @source + N'.sys.extended_properties AS p
JOIN ' + @source + N'.sys.schemas AS s ON s.schema_id = p.major_id
WHERE p.class = 3 AND s.name = N''api'';';
    EXEC sys.sp_executesql @sql,
        N'@major nvarchar(128) OUTPUT, @minor nvarchar(128) OUTPUT',
        @major = @major OUTPUT, @minor = @minor OUTPUT;

    IF @major IS NULL OR @minor IS NULL
    BEGIN
        RAISERROR(N'UPGRADE_9_3: database ''%s'' has no schema version, because schema api lacks the extended properties compatibility_major and compatibility_minor. Check that it is an OnTime database.', 10, 1, @olddb);
        RETURN 2;
    END;

    IF @major <> N'9' OR @minor <> N'3'
    BEGIN
        RAISERROR(N'UPGRADE_9_3: database ''%s'' is at schema version %s.%s, expected 9.3. Run the UPGRADE procedure of that version instead.', 10, 1, @olddb, @major, @minor);
        RETURN 2;
    END;

    BEGIN TRY
        BEGIN TRANSACTION;

        -- display_name is "first last", one part alone when the other is missing,
        -- and the login when both are missing, because display_name is NOT NULL.
        SET @sql = N'
SET IDENTITY_INSERT dbo.users ON;
INSERT INTO dbo.users (user_id, login, display_name, email, is_active, created_at)
SELECT u.USER_ID,
       u.LOGIN_NAME,
       COALESCE(NULLIF(LTRIM(RTRIM(CONCAT(u.FIRST_NAME, N'' '', u.LAST_NAME))), N''''), u.LOGIN_NAME),
       u.EMAIL,
       CASE WHEN u.ACTIVE = ''Y'' THEN 1 ELSE 0 END,
       CAST(u.CREATED AS datetime2(0))
FROM ' + @source + N'.dbo.OT_USER AS u;
SET @rows = @@ROWCOUNT;
SET IDENTITY_INSERT dbo.users OFF;';
        EXEC sys.sp_executesql @sql, N'@rows int OUTPUT', @rows = @rows OUTPUT;
        PRINT CONCAT(N'UPGRADE_9_3: copied ', @rows, N' rows from dbo.OT_USER to dbo.users');

        SET @sql = N'
SET IDENTITY_INSERT dbo.groups ON;
INSERT INTO dbo.groups (group_id, name, description)
SELECT g.GROUP_ID, g.GROUP_NAME, g.DESCRIPTION
FROM ' + @source + N'.dbo.OT_GROUP AS g;
SET @rows = @@ROWCOUNT;
SET IDENTITY_INSERT dbo.groups OFF;';
        EXEC sys.sp_executesql @sql, N'@rows int OUTPUT', @rows = @rows OUTPUT;
        PRINT CONCAT(N'UPGRADE_9_3: copied ', @rows, N' rows from dbo.OT_GROUP to dbo.groups');

        SET @sql = N'
INSERT INTO dbo.group_members (group_id, user_id)
SELECT m.GROUP_ID, m.USER_ID
FROM ' + @source + N'.dbo.OT_GROUP_MEMBER AS m;
SET @rows = @@ROWCOUNT;';
        EXEC sys.sp_executesql @sql, N'@rows int OUTPUT', @rows = @rows OUTPUT;
        PRINT CONCAT(N'UPGRADE_9_3: copied ', @rows, N' rows from dbo.OT_GROUP_MEMBER to dbo.group_members');

        -- COLOR contains 0xRRGGBB. Its four big-endian bytes as hex (CONVERT style 2,
        -- no 0x prefix, SQL Server 2008 and later) end in the six digits RRGGBB.
        SET @sql = N'
SET IDENTITY_INSERT dbo.calendars ON;
INSERT INTO dbo.calendars (calendar_id, owner_user_id, name, color)
SELECT c.CAL_ID,
       c.OWNER_ID,
       c.TITLE,
       CASE WHEN c.COLOR BETWEEN 0 AND 16777215
            THEN ''#'' + RIGHT(CONVERT(char(8), CAST(c.COLOR AS binary(4)), 2), 6)
       END
FROM ' + @source + N'.dbo.OT_CALENDAR AS c;
SET @rows = @@ROWCOUNT;
SET IDENTITY_INSERT dbo.calendars OFF;';
        EXEC sys.sp_executesql @sql, N'@rows int OUTPUT', @rows = @rows OUTPUT;
        PRINT CONCAT(N'UPGRADE_9_3: copied ', @rows, N' rows from dbo.OT_CALENDAR to dbo.calendars');

        -- The old value replaces any default that the create script wrote.
        -- COLLATE DATABASE_DEFAULT lets the two databases differ in collation.
        SET @sql = N'
UPDATE s
SET setting_value = c.CONFIG_VALUE
FROM dbo.settings AS s
JOIN ' + @source + N'.dbo.OT_CONFIG AS c
  ON c.CONFIG_KEY COLLATE DATABASE_DEFAULT = s.setting_name;
SET @rows = @@ROWCOUNT;
INSERT INTO dbo.settings (setting_name, setting_value)
SELECT c.CONFIG_KEY, c.CONFIG_VALUE
FROM ' + @source + N'.dbo.OT_CONFIG AS c
WHERE NOT EXISTS (SELECT 1 FROM dbo.settings AS s
                  WHERE s.setting_name = c.CONFIG_KEY COLLATE DATABASE_DEFAULT);
SET @rows = @rows + @@ROWCOUNT;';
        EXEC sys.sp_executesql @sql, N'@rows int OUTPUT', @rows = @rows OUTPUT;
        PRINT CONCAT(N'UPGRADE_9_3: copied ', @rows, N' rows from dbo.OT_CONFIG to dbo.settings');

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0
            ROLLBACK TRANSACTION;

        DECLARE @number int = ERROR_NUMBER();
        DECLARE @message nvarchar(2048) = ERROR_MESSAGE();
        RAISERROR(N'UPGRADE_9_3: copying from database ''%s'' failed with error %d and was rolled back: %s', 10, 1, @olddb, @number, @message);
        RETURN 3;
    END CATCH;

    RETURN 0;
END;
GO
IF OBJECT_ID(N'dbo.UPGRADE_15_0', N'P') IS NULL
    EXEC (N'CREATE PROCEDURE dbo.UPGRADE_15_0 AS RETURN 0;');
GO
ALTER PROCEDURE dbo.UPGRADE_15_0
    @olddb sysname
AS
BEGIN
    SET XACT_ABORT ON;
    SET NOCOUNT ON;
    -- The SQL Server ODBC driver turns implicit transactions on in manual-commit
    -- mode, and then the version query below would open a transaction that
    -- outlives the procedure. SQL Server restores the setting on return.
    SET IMPLICIT_TRANSACTIONS OFF;

    DECLARE @source nvarchar(258) = QUOTENAME(@olddb);
    DECLARE @sql nvarchar(max);
    DECLARE @major nvarchar(128);
    DECLARE @minor nvarchar(128);
    DECLARE @rows int;

    IF @@TRANCOUNT > 0
    BEGIN
        RAISERROR(N'UPGRADE_15_0: a transaction is open. Commit or roll it back first, because the procedure runs the copy in its own transaction.', 10, 1);
        RETURN 4;
    END;

    IF DB_ID(@olddb) IS NULL
    BEGIN
        RAISERROR(N'UPGRADE_15_0: database ''%s'' was not found. Pass the name of the old OnTime database as @olddb.', 10, 1, @olddb);
        RETURN 1;
    END;

    SET @sql = N'
SELECT @major = MAX(CASE WHEN p.name = N''compatibility_major'' THEN CAST(p.value AS nvarchar(128)) END),
       @minor = MAX(CASE WHEN p.name = N''compatibility_minor'' THEN CAST(p.value AS nvarchar(128)) END)
FROM ' + @source + N'.sys.extended_properties AS p
JOIN ' + @source + N'.sys.schemas AS s ON s.schema_id = p.major_id
WHERE p.class = 3 AND s.name = N''api'';';
    EXEC sys.sp_executesql @sql,
        N'@major nvarchar(128) OUTPUT, @minor nvarchar(128) OUTPUT',
        @major = @major OUTPUT, @minor = @minor OUTPUT;

    IF @major IS NULL OR @minor IS NULL
    BEGIN
        RAISERROR(N'UPGRADE_15_0: database ''%s'' has no schema version, because schema api lacks the extended properties compatibility_major and compatibility_minor. Check that it is an OnTime database.', 10, 1, @olddb);
        RETURN 2;
    END;

    IF @major <> N'15' OR @minor <> N'0'
    BEGIN
        RAISERROR(N'UPGRADE_15_0: database ''%s'' is at schema version %s.%s, expected 15.0. Run the UPGRADE procedure of that version instead.', 10, 1, @olddb, @major, @minor);
        RETURN 2;
    END;

    BEGIN TRY
        BEGIN TRANSACTION;

        -- display_name is NOT NULL, so a NULL or blank full_name becomes the login.
        SET @sql = N'
SET IDENTITY_INSERT dbo.users ON;
INSERT INTO dbo.users (user_id, login, display_name, email, is_active, created_at)
SELECT u.id,
       u.login,
       COALESCE(NULLIF(LTRIM(RTRIM(u.full_name)), N''''), u.login),
       u.mail,
       u.active,
       CAST(u.created AS datetime2(0))
FROM ' + @source + N'.dbo.users AS u;
SET @rows = @@ROWCOUNT;
SET IDENTITY_INSERT dbo.users OFF;';
        EXEC sys.sp_executesql @sql, N'@rows int OUTPUT', @rows = @rows OUTPUT;
        PRINT CONCAT(N'UPGRADE_15_0: copied ', @rows, N' rows from dbo.users to dbo.users');

        SET @sql = N'
SET IDENTITY_INSERT dbo.groups ON;
INSERT INTO dbo.groups (group_id, name, description)
SELECT g.id, g.name, g.description
FROM ' + @source + N'.dbo.groups AS g;
SET @rows = @@ROWCOUNT;
SET IDENTITY_INSERT dbo.groups OFF;';
        EXEC sys.sp_executesql @sql, N'@rows int OUTPUT', @rows = @rows OUTPUT;
        PRINT CONCAT(N'UPGRADE_15_0: copied ', @rows, N' rows from dbo.groups to dbo.groups');

        SET @sql = N'
INSERT INTO dbo.group_members (group_id, user_id)
SELECT m.group_id, m.user_id
FROM ' + @source + N'.dbo.group_members AS m;
SET @rows = @@ROWCOUNT;';
        EXEC sys.sp_executesql @sql, N'@rows int OUTPUT', @rows = @rows OUTPUT;
        PRINT CONCAT(N'UPGRADE_15_0: copied ', @rows, N' rows from dbo.group_members to dbo.group_members');

        -- 15.0 accepted hex digits in either case, but 25.8 stores upper case.
        SET @sql = N'
SET IDENTITY_INSERT dbo.calendars ON;
INSERT INTO dbo.calendars (calendar_id, owner_user_id, name, color)
SELECT c.id, c.owner_id, c.name, UPPER(c.color)
FROM ' + @source + N'.dbo.calendars AS c;
SET @rows = @@ROWCOUNT;
SET IDENTITY_INSERT dbo.calendars OFF;';
        EXEC sys.sp_executesql @sql, N'@rows int OUTPUT', @rows = @rows OUTPUT;
        PRINT CONCAT(N'UPGRADE_15_0: copied ', @rows, N' rows from dbo.calendars to dbo.calendars');

        -- The old value replaces any default that the create script wrote.
        -- COLLATE DATABASE_DEFAULT lets the two databases differ in collation.
        SET @sql = N'
UPDATE s
SET setting_value = o.[value]
FROM dbo.settings AS s
JOIN ' + @source + N'.dbo.settings AS o
  ON o.[key] COLLATE DATABASE_DEFAULT = s.setting_name;
SET @rows = @@ROWCOUNT;
INSERT INTO dbo.settings (setting_name, setting_value)
SELECT o.[key], o.[value]
FROM ' + @source + N'.dbo.settings AS o
WHERE NOT EXISTS (SELECT 1 FROM dbo.settings AS s
                  WHERE s.setting_name = o.[key] COLLATE DATABASE_DEFAULT);
SET @rows = @rows + @@ROWCOUNT;';
        EXEC sys.sp_executesql @sql, N'@rows int OUTPUT', @rows = @rows OUTPUT;
        PRINT CONCAT(N'UPGRADE_15_0: copied ', @rows, N' rows from dbo.settings to dbo.settings');

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0
            ROLLBACK TRANSACTION;

        DECLARE @number int = ERROR_NUMBER();
        DECLARE @message nvarchar(2048) = ERROR_MESSAGE();
        RAISERROR(N'UPGRADE_15_0: copying from database ''%s'' failed with error %d and was rolled back: %s', 10, 1, @olddb, @number, @message);
        RETURN 3;
    END CATCH;

    RETURN 0;
END;
GO

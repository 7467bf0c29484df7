-- Reference migration to schema version 26.4 (ontime_db's reference set, not the vendor's script).
-- The calendar API reads under snapshot isolation from this version on.
-- SQL Server refuses ALTER DATABASE inside a user transaction, so this
-- migration runs in autocommit mode and cannot be rolled back.
ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON;
GO

-- Reference migration of the Pollarity database to schema version 1.1 (not the vendor's script).
-- A poll may close at a given time; open polls keep NULL.
ALTER TABLE dbo.polls ADD closes_at datetime2(0) NULL;
GO

-- Reference migration to schema version 26.1 (ontime_db's reference set, not the vendor's script).
-- Display settings move out of dbo.calendars into dbo.calendar_display, one
-- row per calendar; the colour moves with its data, then leaves dbo.calendars.
CREATE TABLE dbo.calendar_display (
    calendar_id int NOT NULL
        CONSTRAINT PK_calendar_display PRIMARY KEY
        CONSTRAINT FK_calendar_display_calendar REFERENCES dbo.calendars (calendar_id)
            ON DELETE CASCADE,
    color char(7) NULL,
    show_in_overview bit NOT NULL CONSTRAINT DF_calendar_display_show DEFAULT 1
);
GO
INSERT INTO dbo.calendar_display (calendar_id, color)
SELECT calendar_id, color
FROM dbo.calendars;
GO
ALTER TABLE dbo.calendars DROP COLUMN color;
GO

USE [ontimems.9.3]
GO
/*
Reference schema: an OnTime database at schema version 9.3.

This is not the vendor's script. The vendor's legacy scripts are not public,
so ontime_db ships this reference set in their shape: it creates an old
database that dbo.UPGRADE_9_3 (sql/legacy/upgrade_procedures.sql) can copy
into a new 25.8 database. The first line names the vendor's default database
name of that time; the script engine retargets it to the database being filled.

Shape of 9.3, and how each part maps to 25.8:
  dbo.OT_USER          -> dbo.users          FIRST_NAME + ' ' + LAST_NAME becomes display_name;
                                             ACTIVE char(1) 'Y'/'N' becomes is_active bit
  dbo.OT_GROUP         -> dbo.groups
  dbo.OT_GROUP_MEMBER  -> dbo.group_members
  dbo.OT_CALENDAR      -> dbo.calendars      COLOR int 0xRRGGBB (red in the high byte)
                                             becomes '#RRGGBB'
  dbo.OT_CONFIG        -> dbo.settings
  schema api with the extended properties compatibility_major = N'9' and
  compatibility_minor = N'3'

The sample data exercises the copy: 25 users with ids 1-26 (id 21 was deleted,
so a copy that renumbers is caught), non-ASCII and apostrophe names, two
inactive users, NULL e-mail addresses, a user with no name at all, 4 groups
with 18 memberships, 30 calendars (id 17 deleted) whose colors include 0,
0xFFFFFF, 0x000046 and NULL, and 6 configuration rows.
*/
CREATE SCHEMA api;
GO
EXEC sys.sp_addextendedproperty
    @name = N'compatibility_major', @value = N'9',
    @level0type = N'SCHEMA', @level0name = N'api';
EXEC sys.sp_addextendedproperty
    @name = N'compatibility_minor', @value = N'3',
    @level0type = N'SCHEMA', @level0name = N'api';
GO
CREATE TABLE dbo.OT_USER (
    USER_ID int IDENTITY(1, 1) NOT NULL CONSTRAINT PK_OT_USER PRIMARY KEY,
    LOGIN_NAME nvarchar(128) NOT NULL CONSTRAINT UQ_OT_USER_LOGIN_NAME UNIQUE,
    FIRST_NAME nvarchar(100) NULL,
    LAST_NAME nvarchar(100) NULL,
    EMAIL nvarchar(255) NULL,
    ACTIVE char(1) NOT NULL CONSTRAINT DF_OT_USER_ACTIVE DEFAULT ('Y')
        CONSTRAINT CK_OT_USER_ACTIVE CHECK (ACTIVE IN ('Y', 'N')),
    -- 9.3 already stored UTC times, so the copy converts the type only.
    CREATED datetime NOT NULL CONSTRAINT DF_OT_USER_CREATED DEFAULT (GETUTCDATE())
);

CREATE TABLE dbo.OT_GROUP (
    GROUP_ID int IDENTITY(1, 1) NOT NULL CONSTRAINT PK_OT_GROUP PRIMARY KEY,
    GROUP_NAME nvarchar(100) NOT NULL CONSTRAINT UQ_OT_GROUP_GROUP_NAME UNIQUE,
    DESCRIPTION nvarchar(255) NULL
);

CREATE TABLE dbo.OT_GROUP_MEMBER (
    GROUP_ID int NOT NULL
        CONSTRAINT FK_OT_GROUP_MEMBER_GROUP REFERENCES dbo.OT_GROUP (GROUP_ID),
    USER_ID int NOT NULL
        CONSTRAINT FK_OT_GROUP_MEMBER_USER REFERENCES dbo.OT_USER (USER_ID),
    CONSTRAINT PK_OT_GROUP_MEMBER PRIMARY KEY (GROUP_ID, USER_ID)
);

CREATE TABLE dbo.OT_CALENDAR (
    CAL_ID int IDENTITY(1, 1) NOT NULL CONSTRAINT PK_OT_CALENDAR PRIMARY KEY,
    OWNER_ID int NOT NULL
        CONSTRAINT FK_OT_CALENDAR_OWNER REFERENCES dbo.OT_USER (USER_ID),
    TITLE nvarchar(100) NOT NULL,
    COLOR int NULL CONSTRAINT CK_OT_CALENDAR_COLOR CHECK (COLOR BETWEEN 0 AND 16777215)
);

CREATE TABLE dbo.OT_CONFIG (
    CONFIG_KEY varchar(64) NOT NULL CONSTRAINT PK_OT_CONFIG PRIMARY KEY,
    CONFIG_VALUE nvarchar(2000) NULL
);
GO
SET IDENTITY_INSERT dbo.OT_USER ON;
INSERT INTO dbo.OT_USER (USER_ID, LOGIN_NAME, FIRST_NAME, LAST_NAME, EMAIL, ACTIVE, CREATED)
VALUES
    (1, N'admin', N'OnTime', N'Administrator', N'admin@example.com', 'Y', '2009-03-02T08:00:00'),
    (2, N'jgroesse', N'Jürgen', N'Größe', N'juergen.groesse@example.com', 'Y', '2009-03-02T08:05:00'),
    (3, N'wangxm', N'王小明', NULL, N'wang.xiaoming@example.com', 'Y', '2009-03-02T08:10:00'),
    (4, N'sohare', N'Siobhan', N'O''Hare', N'siobhan.ohare@example.com', 'Y', '2009-03-03T09:00:00'),
    (5, N'kfischer', N'Karin', N'Fischer', NULL, 'N', '2009-03-03T09:30:00'),
    (6, N'lmartin', N'Luc', N'Martin', N'luc.martin@example.com', 'Y', '2009-03-04T10:00:00'),
    (7, N'asmith', N'Anna', N'Smith', N'anna.smith@example.com', 'Y', '2009-03-04T10:15:00'),
    (8, N'bjones', N'Ben', N'Jones', NULL, 'Y', '2009-03-04T10:30:00'),
    (9, N'cmueller', N'Clara', N'Müller', N'clara.mueller@example.com', 'Y', '2009-03-05T11:00:00'),
    (10, N'dnovak', N'Dušan', N'Novák', N'dusan.novak@example.com', 'Y', '2009-03-05T11:30:00'),
    (11, N'eolsen', N'Eva', N'Olsen', N'eva.olsen@example.com', 'Y', '2009-03-06T12:00:00'),
    (12, N'fgarcia', N'Félix', N'García', N'felix.garcia@example.com', 'Y', '2009-03-06T12:30:00'),
    (13, N'grossi', N'Giulia', N'Rossi', NULL, 'Y', '2009-03-09T08:00:00'),
    (14, N'hberg', N'Henrik', N'Berg', N'henrik.berg@example.com', 'N', '2009-03-09T08:30:00'),
    (15, N'ipetrova', N'Ирина', N'Петрова', N'irina.petrova@example.com', 'Y', '2009-03-10T09:00:00'),
    (16, N'jkim', N'Ji-woo', N'Kim', N'jiwoo.kim@example.com', 'Y', '2009-03-10T09:30:00'),
    (17, N'kdubois', N'Kévin', N'Dubois', N'kevin.dubois@example.com', 'Y', '2009-03-11T10:00:00'),
    (18, N'lwalsh', N'Liam', N'Walsh', NULL, 'Y', '2009-03-11T10:30:00'),
    (19, N'mnowak', N'Marta', N'Nowak', N'marta.nowak@example.com', 'Y', '2009-03-12T11:00:00'),
    (20, N'nsato', N'直樹', N'佐藤', N'naoki.sato@example.com', 'Y', '2009-03-12T11:30:00'),
    (22, N'room.berlin', N'Besprechungsraum', N'Berlin', NULL, 'Y', '2009-04-01T07:00:00'),
    (23, N'ovance', N'Oscar', N'Vance', N'oscar.vance@example.com', 'Y', '2009-04-02T07:30:00'),
    (24, N'pnguyen', N'Phương', N'Nguyễn', N'phuong.nguyen@example.com', 'Y', '2009-04-03T08:00:00'),
    (25, N'qali', N'Qasim', N'Ali', NULL, 'Y', '2009-04-06T08:30:00'),
    (26, N'svc.scanner', NULL, NULL, NULL, 'Y', '2009-04-07T09:00:00');
SET IDENTITY_INSERT dbo.OT_USER OFF;

SET IDENTITY_INSERT dbo.OT_GROUP ON;
INSERT INTO dbo.OT_GROUP (GROUP_ID, GROUP_NAME, DESCRIPTION)
VALUES
    (1, N'Management', N'Geschäftsleitung'),
    (2, N'Sales', N'Vertrieb & Service'),
    (3, N'Support', NULL),
    (4, N'Team O''Hare', N'Siobhan''s project team');
SET IDENTITY_INSERT dbo.OT_GROUP OFF;

INSERT INTO dbo.OT_GROUP_MEMBER (GROUP_ID, USER_ID)
VALUES
    (1, 1), (1, 2), (1, 23),
    (2, 4), (2, 6), (2, 7), (2, 9), (2, 12),
    (3, 3), (3, 5), (3, 8), (3, 10), (3, 11), (3, 16),
    (4, 4), (4, 15), (4, 20), (4, 24);

SET IDENTITY_INSERT dbo.OT_CALENDAR ON;
INSERT INTO dbo.OT_CALENDAR (CAL_ID, OWNER_ID, TITLE, COLOR)
VALUES
    (1, 1, N'Administration', 16711680),        -- #FF0000
    (2, 2, N'Jürgens Kalender', 65280),          -- #00FF00
    (3, 3, N'王小明的日历', 255),                -- #0000FF
    (4, 4, N'Siobhan''s calendar', 0),           -- #000000
    (5, 5, N'Karin Fischer', NULL),
    (6, 6, N'Luc Martin', 16777215),             -- #FFFFFF
    (7, 7, N'Anna Smith', 1193046),              -- #123456
    (8, 8, N'Ben Jones', 11259375),              -- #ABCDEF
    (9, 9, N'Clara Müller', 3368601),            -- #336699
    (10, 10, N'Dušan Novák', 10066329),          -- #999999
    (11, 11, N'Eva Olsen', 16753920),            -- #FFA500
    (12, 12, N'Félix García', 8388736),          -- #800080
    (13, 13, N'Giulia Rossi', NULL),
    (14, 14, N'Henrik Berg', 8421504),           -- #808080
    (15, 15, N'Ирина Петрова', 16761035),        -- #FFC0CB
    (16, 16, N'Ji-woo Kim', 4286945),            -- #4169E1
    (18, 18, N'Liam Walsh', 3329330),            -- #32CD32
    (19, 19, N'Marta Nowak', 16032864),          -- #F4A460
    (20, 20, N'直樹 佐藤', 9109504),             -- #8B0000
    (21, 22, N'Besprechungsraum Berlin', 2263842), -- #228B22
    (22, 23, N'Oscar Vance', 49151),             -- #00BFFF
    (23, 24, N'Phương Nguyễn', 16766720),        -- #FFD700
    (24, 25, N'Qasim Ali', 6908265),             -- #696969
    (25, 1, N'Feiertage', 13458524),             -- #CD5C5C
    (26, 2, N'Urlaub', 7048739),                 -- #6B8E23
    (27, 4, N'Team O''Hare', 4620980),           -- #4682B4
    (28, 17, N'Kévin Dubois', 10824234),         -- #A52A2A
    (29, 3, N'会议', 16416882),                  -- #FA8072
    (30, 26, N'Scanner', NULL),
    (31, 1, N'Releases', 70);                    -- #000046
SET IDENTITY_INSERT dbo.OT_CALENDAR OFF;

INSERT INTO dbo.OT_CONFIG (CONFIG_KEY, CONFIG_VALUE)
VALUES
    ('CompanyName', N'Größe & O''Hare GmbH'),
    ('DefaultLanguage', N'de'),
    ('LicenseKey', NULL),
    ('MailSender', N'ontime@example.com'),
    ('ServerUrl', N'https://ontime.example.com/ontimegcms'),
    ('SyncIntervalMinutes', N'15');
GO

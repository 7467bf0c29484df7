USE [ontimems.15.0]
GO
/*
Reference schema: an OnTime database at schema version 15.0.

This is not the vendor's script. The vendor's legacy scripts are not public,
so ontime_db ships this reference set in their shape: it creates an old
database that dbo.UPGRADE_15_0 (sql/legacy/upgrade_procedures.sql) can copy
into a new 25.8 database. The first line names the vendor's default database
name of that time; the script engine retargets it to the database being filled.

15.0 is already close to 25.8. What differs, and how each part maps:
  dbo.users          -> dbo.users          id -> user_id, full_name -> display_name
                                           (the login when full_name is NULL or blank),
                                           mail -> email, active -> is_active,
                                           created datetime2(3) -> created_at datetime2(0)
  dbo.groups         -> dbo.groups         id -> group_id
  dbo.group_members  -> dbo.group_members
  dbo.calendars      -> dbo.calendars      id -> calendar_id, owner_id -> owner_user_id,
                                           color '#rrggbb' in any letter case -> '#RRGGBB'
  dbo.settings       -> dbo.settings       [key] -> setting_name, [value] -> setting_value
  schema api with the extended properties compatibility_major = N'15' and
  compatibility_minor = N'0'

The sample data exercises the copy: 25 users with ids 1-26 (id 13 was deleted),
non-ASCII and apostrophe names, a blank and a NULL full name, two inactive
users, NULL e-mail addresses, 4 groups with 16 memberships, 30 calendars
(id 10 deleted) with colors in lower, upper and mixed case and NULL, and 6
settings.
*/
CREATE SCHEMA api;
GO
EXEC sys.sp_addextendedproperty
    @name = N'compatibility_major', @value = N'15',
    @level0type = N'SCHEMA', @level0name = N'api';
EXEC sys.sp_addextendedproperty
    @name = N'compatibility_minor', @value = N'0',
    @level0type = N'SCHEMA', @level0name = N'api';
GO
CREATE TABLE dbo.users (
    id int IDENTITY(1, 1) NOT NULL CONSTRAINT PK_users PRIMARY KEY,
    login nvarchar(256) NOT NULL CONSTRAINT UQ_users_login UNIQUE,
    full_name nvarchar(256) NULL,
    mail nvarchar(320) NULL,
    active bit NOT NULL CONSTRAINT DF_users_active DEFAULT (1),
    created datetime2(3) NOT NULL CONSTRAINT DF_users_created DEFAULT (SYSUTCDATETIME())
);

CREATE TABLE dbo.groups (
    id int IDENTITY(1, 1) NOT NULL CONSTRAINT PK_groups PRIMARY KEY,
    name nvarchar(256) NOT NULL CONSTRAINT UQ_groups_name UNIQUE,
    description nvarchar(1000) NULL
);

CREATE TABLE dbo.group_members (
    group_id int NOT NULL CONSTRAINT FK_group_members_group REFERENCES dbo.groups (id),
    user_id int NOT NULL CONSTRAINT FK_group_members_user REFERENCES dbo.users (id),
    CONSTRAINT PK_group_members PRIMARY KEY (group_id, user_id)
);

CREATE TABLE dbo.calendars (
    id int IDENTITY(1, 1) NOT NULL CONSTRAINT PK_calendars PRIMARY KEY,
    owner_id int NOT NULL CONSTRAINT FK_calendars_owner REFERENCES dbo.users (id),
    name nvarchar(256) NOT NULL,
    color varchar(7) NULL CONSTRAINT CK_calendars_color
        CHECK (color LIKE '#[0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f]')
);

CREATE TABLE dbo.settings (
    [key] nvarchar(128) NOT NULL CONSTRAINT PK_settings PRIMARY KEY,
    [value] nvarchar(max) NULL
);
GO
SET IDENTITY_INSERT dbo.users ON;
INSERT INTO dbo.users (id, login, full_name, mail, active, created)
VALUES
    (1, N'admin', N'OnTime Administrator', N'admin@example.com', 1, '2016-05-02T08:00:00.000'),
    (2, N'jgroesse', N'Jürgen Größe', N'juergen.groesse@example.com', 1, '2016-05-02T08:05:00.000'),
    (3, N'wangxm', N'王小明', N'wang.xiaoming@example.com', 1, '2016-05-02T08:10:00.000'),
    (4, N'sohare', N'Siobhan O''Hare', N'siobhan.ohare@example.com', 1, '2016-05-03T09:00:00.000'),
    (5, N'kfischer', N'Karin Fischer', NULL, 0, '2016-05-03T09:30:00.000'),
    (6, N'lmartin', N'Luc Martin', N'luc.martin@example.com', 1, '2016-05-04T10:00:00.000'),
    (7, N'asmith', N'Anna Smith', N'anna.smith@example.com', 1, '2016-05-04T10:15:00.000'),
    (8, N'bjones', N'Ben Jones', NULL, 1, '2016-05-04T10:30:00.000'),
    (9, N'cmueller', N'Clara Müller', N'clara.mueller@example.com', 1, '2016-05-05T11:00:00.000'),
    (10, N'dnovak', N'Dušan Novák', N'dusan.novak@example.com', 1, '2016-05-05T11:30:00.000'),
    (11, N'eolsen', N'Eva Olsen', N'eva.olsen@example.com', 1, '2016-05-06T12:00:00.000'),
    (12, N'fgarcia', N'Félix García', N'felix.garcia@example.com', 1, '2016-05-06T12:30:00.000'),
    (14, N'hberg', N'Henrik Berg', N'henrik.berg@example.com', 0, '2016-05-09T08:30:00.000'),
    (15, N'ipetrova', N'Ирина Петрова', N'irina.petrova@example.com', 1, '2016-05-10T09:00:00.000'),
    (16, N'jkim', N'Ji-woo Kim', N'jiwoo.kim@example.com', 1, '2016-05-10T09:30:00.000'),
    (17, N'kdubois', N'Kévin Dubois', N'kevin.dubois@example.com', 1, '2016-05-11T10:00:00.000'),
    (18, N'lwalsh', N'Liam Walsh', NULL, 1, '2016-05-11T10:30:00.000'),
    (19, N'mnowak', N'Marta Nowak', N'marta.nowak@example.com', 1, '2016-05-12T11:00:00.000'),
    (20, N'nsato', N'佐藤 直樹', N'naoki.sato@example.com', 1, '2016-05-12T11:30:00.000'),
    (21, N'room.berlin', N'Besprechungsraum Berlin', NULL, 1, '2016-06-01T07:00:00.000'),
    (22, N'ovance', N'Oscar Vance', N'oscar.vance@example.com', 1, '2016-06-02T07:30:00.000'),
    (23, N'pnguyen', N'Phương Nguyễn', N'phuong.nguyen@example.com', 1, '2016-06-03T08:00:00.000'),
    (24, N'qali', N'Qasim Ali', NULL, 1, '2016-06-06T08:30:00.000'),
    (25, N'svc.scanner', NULL, NULL, 1, '2016-06-07T09:00:00.000'),
    (26, N'svc.backup', N'   ', NULL, 1, '2016-06-07T09:15:00.000');
SET IDENTITY_INSERT dbo.users OFF;

SET IDENTITY_INSERT dbo.groups ON;
INSERT INTO dbo.groups (id, name, description)
VALUES
    (1, N'Management', N'Geschäftsleitung'),
    (2, N'Sales', N'Vertrieb & Service'),
    (3, N'Support', NULL),
    (4, N'Team O''Hare', N'Siobhan''s project team');
SET IDENTITY_INSERT dbo.groups OFF;

INSERT INTO dbo.group_members (group_id, user_id)
VALUES
    (1, 1), (1, 2), (1, 22),
    (2, 4), (2, 6), (2, 7), (2, 9),
    (3, 3), (3, 5), (3, 8), (3, 10), (3, 11),
    (4, 4), (4, 15), (4, 20), (4, 23);

SET IDENTITY_INSERT dbo.calendars ON;
INSERT INTO dbo.calendars (id, owner_id, name, color)
VALUES
    (1, 1, N'Administration', '#ff0000'),
    (2, 2, N'Jürgens Kalender', '#00FF00'),
    (3, 3, N'王小明的日历', '#0000ff'),
    (4, 4, N'Siobhan''s calendar', '#000000'),
    (5, 5, N'Karin Fischer', NULL),
    (6, 6, N'Luc Martin', '#ffffff'),
    (7, 7, N'Anna Smith', '#123456'),
    (8, 8, N'Ben Jones', '#AbCdEf'),
    (9, 9, N'Clara Müller', '#336699'),
    (11, 11, N'Eva Olsen', '#ffa500'),
    (12, 12, N'Félix García', '#800080'),
    (13, 14, N'Henrik Berg', '#808080'),
    (14, 15, N'Ирина Петрова', '#ffc0cb'),
    (15, 16, N'Ji-woo Kim', '#4169e1'),
    (16, 17, N'Kévin Dubois', '#a52a2a'),
    (17, 18, N'Liam Walsh', '#32cd32'),
    (18, 19, N'Marta Nowak', '#f4a460'),
    (19, 20, N'佐藤 直樹', '#8b0000'),
    (20, 21, N'Besprechungsraum Berlin', '#228b22'),
    (21, 22, N'Oscar Vance', '#00bfff'),
    (22, 23, N'Phương Nguyễn', '#ffd700'),
    (23, 24, N'Qasim Ali', '#696969'),
    (24, 1, N'Feiertage', '#cd5c5c'),
    (25, 2, N'Urlaub', '#6b8e23'),
    (26, 4, N'Team O''Hare', '#4682b4'),
    (27, 10, N'Dušan Novák', '#999999'),
    (28, 3, N'会议', '#fa8072'),
    (29, 25, N'Scanner', NULL),
    (30, 1, N'Releases', '#000046'),
    (31, 26, N'Backups', '#e0e0e0');
SET IDENTITY_INSERT dbo.calendars OFF;

INSERT INTO dbo.settings ([key], [value])
VALUES
    (N'company.name', N'Größe & O''Hare GmbH'),
    (N'default.language', N'de'),
    (N'license.key', NULL),
    (N'mail.sender', N'ontime@example.com'),
    (N'server.url', N'https://ontime.example.com/ontimegcms'),
    (N'sync.interval.minutes', N'15');
GO

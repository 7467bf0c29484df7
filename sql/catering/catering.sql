USE [ontimecatering]
GO
-- Reference create script of the OnTime Catering database, schema version 1.0.
-- The vendor's real scripts are not public: this file only has their shape.
-- The script engine retargets the USE above to the database being created.
CREATE SCHEMA api AUTHORIZATION dbo;
GO
CREATE ROLE api_role AUTHORIZATION dbo;
GO
GRANT SELECT, EXECUTE ON SCHEMA::api TO api_role;
GO
CREATE TABLE dbo.menu_items (
    item_id int IDENTITY(1,1) NOT NULL CONSTRAINT PK_menu_items PRIMARY KEY,
    name nvarchar(256) NOT NULL CONSTRAINT UQ_menu_items_name UNIQUE,
    price decimal(9, 2) NOT NULL
);
GO
CREATE TABLE dbo.orders (
    order_id int IDENTITY(1,1) NOT NULL CONSTRAINT PK_orders PRIMARY KEY,
    meeting_id nvarchar(256) NOT NULL,
    item_id int NOT NULL CONSTRAINT FK_orders_item REFERENCES dbo.menu_items (item_id),
    quantity int NOT NULL CONSTRAINT DF_orders_quantity DEFAULT 1
);
GO
EXEC sys.sp_addextendedproperty
    @name = N'compatibility_major', @value = N'1',
    @level0type = N'SCHEMA', @level0name = N'api';
EXEC sys.sp_addextendedproperty
    @name = N'compatibility_minor', @value = N'0',
    @level0type = N'SCHEMA', @level0name = N'api';
GO

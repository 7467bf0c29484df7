-- Reference migration of the Catering database to schema version 1.1 (not the vendor's script).
-- Orders carry a free-text note for the kitchen; existing orders get an empty one.
ALTER TABLE dbo.orders
    ADD notes nvarchar(1000) NOT NULL CONSTRAINT DF_orders_notes DEFAULT N'';
GO

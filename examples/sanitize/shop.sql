-- A small shop with personal data, for trying `run sanitize` on pg-demo:
--   run demo-up && run demo-shop && SANITIZED=1 SANITIZE_KEY=... run sanitize
DROP TABLE IF EXISTS payments, orders, addresses, customers;
CREATE TABLE customers (
    id int PRIMARY KEY,
    email text NOT NULL UNIQUE,
    full_name varchar(80) NOT NULL,
    phone text,
    birth_date date,
    plan text NOT NULL DEFAULT 'free'
);
CREATE TABLE addresses (
    id int PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers(id),
    street text NOT NULL,
    city text NOT NULL,
    postcode text
);
CREATE TABLE orders (
    id int PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers(id),
    note text,
    created_at timestamp NOT NULL
);
CREATE TABLE payments (
    id int PRIMARY KEY,
    order_id int NOT NULL REFERENCES orders(id),
    card_number text NOT NULL,
    amount numeric(10,2) NOT NULL
);
INSERT INTO customers
SELECT g, 'person' || g || '@corp-mail.test',
       (ARRAY['Wilhelmina','Bartholomew','Gwendolyn','Thaddeus'])[1 + g % 4] || ' '
         || (ARRAY['Featherstone','Quigglesby','Marchbanks'])[1 + g % 3] || '-' || g,
       '+1 (415) 555-' || lpad(g::text, 4, '0'),
       date '1950-01-01' + (g * 7) % 20000,
       CASE WHEN g % 3 = 0 THEN 'pro' ELSE 'free' END
FROM generate_series(1, 5000) g;
INSERT INTO addresses
SELECT g, g, g || ' Baker Row', 'Springfield', lpad((g * 13 % 99999)::text, 5, '0')
FROM generate_series(1, 5000) g;
INSERT INTO orders
SELECT g, 1 + g % 5000, CASE WHEN g % 5 = 0 THEN 'ring twice' END,
       timestamp '2026-01-01' + g * interval '37 minutes'
FROM generate_series(1, 15000) g;
INSERT INTO payments
SELECT g, g, '4111 1111 1111 ' || lpad(g::text, 4, '0'), (g % 500) + 0.99
FROM generate_series(1, 10000) g;

//! A generated "shop" database with personal data everywhere a real one
//! has it: names, emails, phone numbers in many national formats, birth
//! dates, addresses with second lines, card numbers, IBANs, IP addresses,
//! and free text (order notes, support tickets, customer notes) that
//! mentions emails, phone numbers, cards, IBANs and IPs in passing.
//!
//! It is written as pg_dump writes a plain dump (schema, COPY blocks,
//! constraints after the data, `\restrict`, the completion comment), with
//! orders partitioned by year and their foreign key declared on the
//! partitioned table, so it is both a benchmark input and a psql script a
//! test loads into a real server and dumps again.
//!
//! Shared by tests/postgres.rs and examples/shop.rs.
#![allow(dead_code)]

use std::io::{self, Write};

/// Names that none of the engine's fake-value word lists contain, so a
/// fake can never be mistaken for a survivor.
const FIRST: &[&str] = &[
    "Wilhelmina",
    "Bartholomew",
    "Gwendolyn",
    "Thaddeus",
    "Ottilie",
    "Cornelius",
    "Philippa",
    "Ignatius",
    "Rosalind",
    "Leopold",
    "Henrietta",
    "Ambrose",
    "Clementine",
    "Barnaby",
    "Imogen",
    "Lucius",
    "Euphemia",
    "Jedediah",
    "Marguerite",
    "Percival",
    "Seraphina",
    "Horatio",
    "Winifred",
    "Evander",
    "Araminta",
    "Cuthbert",
    "Perpetua",
    "Alaric",
    "Zenobia",
    "Fitzgerald",
];
const LAST: &[&str] = &[
    "Featherstone",
    "Quigglesby",
    "Marchbanks",
    "Ravensworth",
    "Pennywhistle",
    "Thistlewood",
    "Honeycutt",
    "Blackwood",
    "Fairweather",
    "Goodfellow",
    "Wainwright",
    "Hollingsworth",
    "Cholmondeley",
    "Fotheringham",
    "Entwistle",
    "Bumblethorpe",
    "Ashcombe",
    "Pettigrew",
    "Wolstenholme",
    "Grimsditch",
    "Kettleborough",
    "Applethwaite",
];
const STREETS: &[&str] = &[
    "Baker",
    "Abbey",
    "Fleet",
    "Carnaby",
    "Threadneedle",
    "Portobello",
    "Kensington",
    "Shoreditch",
    "Marylebone",
    "Bermondsey",
    "Clerkenwell",
    "Spitalfields",
];
const STREET_KINDS: &[&str] = &["Row", "Mews", "Terrace", "Crescent", "Gardens", "Parade"];
const CITIES: &[(&str, &str)] = &[
    ("Springfield", "US"),
    ("Shelbyville", "US"),
    ("Ankh-Morpork", "GB"),
    ("Lummerland", "DE"),
    ("Bordeaux-sur-Mer", "FR"),
    ("Utrechtburg", "NL"),
];
const DOMAINS: &[&str] = &[
    "corp-mail.test",
    "post.example.net",
    "inbox.example.org",
    "mail.test",
];
const PRODUCTS: &[&str] = &[
    "Teapot",
    "Umbrella",
    "Lantern",
    "Kettle",
    "Notebook",
    "Compass",
    "Telescope",
    "Hourglass",
];

/// How big, and from which seed.
#[derive(Debug, Clone, Copy)]
pub struct Shop {
    pub customers: usize,
    pub seed: u64,
}

/// splitmix64: a small, fast, seedable generator (no dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len())]
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// The personal values the generator wrote, for checking that none
/// survives (only when asked for: the benchmark's dump is large).
#[derive(Debug, Default)]
pub struct Planted {
    pub values: Vec<String>,
}

impl Planted {
    fn add(&mut self, value: &str) {
        self.values.push(value.to_owned());
    }
}

fn phone(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => format!("+1 ({}) 555-{}", 200 + rng.below(700), rng.digits(4)),
        1 => format!("({}) 555-{}", 200 + rng.below(700), rng.digits(4)),
        2 => format!("{}.555.{}", 200 + rng.below(700), rng.digits(4)),
        3 => format!("+44 20 {} {}", rng.digits(4), rng.digits(4)),
        4 => format!("07{} {}", rng.digits(3), rng.digits(6)),
        5 => format!("+49 30 {}", rng.digits(8)),
        6 => format!(
            "+33 1 {} {} {} {}",
            rng.digits(2),
            rng.digits(2),
            rng.digits(2),
            rng.digits(2)
        ),
        7 => format!(
            "06 {} {} {} {}",
            rng.digits(2),
            rng.digits(2),
            rng.digits(2),
            rng.digits(2)
        ),
        8 => format!("+31 20 {} {}", rng.digits(3), rng.digits(4)),
        _ => format!("+4915{}", rng.digits(9)),
    }
}

fn luhn_complete(mut digits: Vec<u8>) -> Vec<u8> {
    digits.push(0);
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    let last = digits.len() - 1;
    digits[last] = ((10 - sum % 10) % 10) as u8;
    digits
}

fn card(rng: &mut Rng) -> String {
    let amex = rng.chance(20);
    let (first, len): (&[u8], usize) = if amex { (&[3, 7], 15) } else { (&[4], 16) };
    let mut digits: Vec<u8> = first.to_vec();
    while digits.len() < len - 1 {
        digits.push(rng.below(10) as u8);
    }
    let digits = luhn_complete(digits);
    let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    match (amex, rng.below(3)) {
        (true, _) => text,
        (false, 0) => text,
        (false, 1) => text
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" "),
        (false, _) => text
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("-"),
    }
}

fn iban(rng: &mut Rng) -> String {
    let (country, bban) = match rng.below(4) {
        0 => ("DE", rng.digits(18)),
        1 => ("FR", format!("{}{}", rng.digits(21), rng.digits(2))),
        2 => ("GB", format!("WEST{}", rng.digits(14))),
        _ => ("NL", format!("ABNA{}", rng.digits(10))),
    };
    // Check digits: 98 - (bban ‖ country ‖ "00" as a number mod 97).
    let mut r = 0u32;
    for b in bban.bytes().chain(country.bytes()).chain(*b"00") {
        r = match b {
            b'0'..=b'9' => (r * 10 + u32::from(b - b'0')) % 97,
            _ => (r * 100 + u32::from(b - b'A') + 10) % 97,
        };
    }
    let compact = format!("{country}{:02}{bban}", 98 - r);
    if rng.chance(50) {
        compact
    } else {
        compact
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn ip(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => format!(
            "81.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        ),
        1 => format!("192.168.{}.{}", rng.below(256), 1 + rng.below(254)),
        2 => format!(
            "185.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        ),
        _ => format!(
            "2001:db8:{:x}::{:x}",
            rng.below(0xffff),
            1 + rng.below(0xfffe)
        ),
    }
}

/// COPY text escaping.
fn esc(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// One customer, drawn from its own generator: any table can ask for it.
struct Customer {
    first: &'static str,
    last: &'static str,
    email: String,
    phone: String,
    ip: String,
    notes: String,
    /// The notes' personal value, if any.
    notes_value: Option<String>,
    birth: String,
    hash: String,
    created: String,
}

impl Shop {
    fn rng(&self, table: u64, id: usize) -> Rng {
        let mut r = Rng(self.seed
            ^ table.wrapping_mul(0x2545_f491_4f6c_dd1d)
            ^ (id as u64).wrapping_mul(0x9e37_79b9));
        r.next();
        r
    }

    fn customer(&self, id: usize) -> Customer {
        let mut rng = self.rng(1, id);
        let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
        let email = format!(
            "{}.{}{id}@{}",
            first.to_lowercase(),
            last.to_lowercase(),
            rng.pick(DOMAINS)
        );
        let phone_number = if rng.chance(10) {
            String::new()
        } else {
            phone(&mut rng)
        };
        let address_ip = ip(&mut rng);
        let (notes, notes_value) = match rng.below(5) {
            0 => {
                let p = phone(&mut rng);
                (format!("prefers calls on {p}"), Some(p))
            }
            1 => {
                let e = email.replace('@', ".alt@");
                (format!("second address: {e}"), Some(e))
            }
            2 => (String::new(), None),
            3 => ("VIP".to_owned(), None),
            _ => ("\\N".to_owned(), None),
        };
        Customer {
            first,
            last,
            email,
            phone: phone_number,
            ip: address_ip,
            notes,
            notes_value,
            birth: format!(
                "19{:02}-{:02}-{:02}",
                40 + rng.below(60),
                1 + rng.below(12),
                1 + rng.below(28)
            ),
            hash: hex32(&mut rng),
            created: format!(
                "2023-0{}-1{} 10:{:02}:00+00",
                1 + rng.below(9),
                rng.below(10),
                rng.below(60)
            ),
        }
    }

    /// The date of order `o`, spread over 2024 and 2025.
    fn order_date(o: usize) -> (u32, String) {
        let d = (o * 7919) % 730;
        let year = 2024 + (d / 365) as u32;
        let doy = d % 365;
        (
            year,
            format!("{year}-{:02}-{:02}", 1 + doy / 31 % 12, 1 + doy % 28),
        )
    }

    fn order_customer(&self, o: usize) -> usize {
        1 + (o * 31) % self.customers
    }

    /// Writes the dump; `planted` collects every personal value written.
    pub fn write(&self, out: &mut impl Write, mut planted: Option<&mut Planted>) -> io::Result<()> {
        let mut plant = |v: &str| {
            if let Some(p) = planted.as_deref_mut() {
                p.add(v);
            }
        };
        let n = self.customers;
        let orders = 3 * n;
        out.write_all(HEADER.as_bytes())?;

        // Tables in name order, as pg_dump writes them.
        writeln!(
            out,
            "COPY public.addresses (id, customer_id, line1, line2, city, postcode, country) FROM stdin;"
        )?;
        // One or two addresses per customer, half with a second line; the
        // first of customer c is 2c - 1.
        for customer in 1..=n {
            let mut rng = self.rng(2, customer);
            for k in 0..1 + usize::from(rng.chance(50)) {
                let id = 2 * customer - 1 + k;
                let line1 = format!(
                    "{} {} {}",
                    1 + rng.below(400),
                    rng.pick(STREETS),
                    rng.pick(STREET_KINDS)
                );
                let line2 = match rng.below(4) {
                    0 => format!("Apt {}{}", 1 + rng.below(40), ["A", "B", "C"][rng.below(3)]),
                    1 => format!("Flat {}", 1 + rng.below(90)),
                    _ => String::new(),
                };
                let (city, country) = CITIES[rng.below(CITIES.len())];
                plant(&line1);
                if !line2.is_empty() {
                    plant(&line2);
                }
                writeln!(
                    out,
                    "{id}\t{customer}\t{line1}\t{line2}\t{city}\t{}\t{country}",
                    rng.digits(5)
                )?;
            }
        }
        writeln!(out, "\\.\n\n")?;

        writeln!(
            out,
            "COPY public.customers (id, first_name, last_name, email, phone, birth_date, password_hash, last_login_ip, notes, created_at) FROM stdin;"
        )?;
        for id in 1..=n {
            let c = self.customer(id);
            for v in [c.first, c.last, c.email.as_str(), c.ip.as_str()] {
                plant(v);
            }
            if !c.phone.is_empty() {
                plant(&c.phone);
            }
            if let Some(v) = &c.notes_value {
                plant(v);
            }
            let notes = if c.notes == "\\N" {
                c.notes.clone()
            } else {
                esc(&c.notes)
            };
            writeln!(
                out,
                "{id}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{notes}\t{}",
                c.first,
                c.last,
                c.email,
                esc(&c.phone),
                c.birth,
                c.hash,
                c.ip,
                c.created
            )?;
        }
        writeln!(out, "\\.\n\n")?;

        writeln!(
            out,
            "COPY public.order_items (id, order_id, ordered_at, product_id, quantity, unit_price) FROM stdin;"
        )?;
        for o in 1..=orders {
            let mut rng = self.rng(3, o);
            let (_, date) = Self::order_date(o);
            for k in 0..3 {
                writeln!(
                    out,
                    "{}\t{o}\t{date}\t{}\t{}\t{}.{:02}",
                    3 * (o - 1) + k + 1,
                    1 + rng.below(200),
                    1 + rng.below(5),
                    1 + rng.below(300),
                    rng.below(100)
                )?;
            }
        }
        writeln!(out, "\\.\n\n")?;

        for year in [2024u32, 2025] {
            writeln!(
                out,
                "COPY public.orders_{year} (id, ordered_at, customer_id, shipping_address_id, status, note, total) FROM stdin;"
            )?;
            for o in 1..=orders {
                let (y, date) = Self::order_date(o);
                if y != year {
                    continue;
                }
                let mut rng = self.rng(4, o);
                let customer = self.order_customer(o);
                let note = match rng.below(8) {
                    0 => {
                        let c = self.customer(customer);
                        let p = if c.phone.is_empty() {
                            phone(&mut rng)
                        } else {
                            c.phone
                        };
                        plant(&p);
                        format!("Please call {p} before delivery.")
                    }
                    1 => format!(
                        "Send the invoice to {}, not to the shop.",
                        self.customer(customer).email
                    ),
                    2 => {
                        let c = card(&mut rng);
                        plant(&c);
                        format!("Paid by card {c} over the phone")
                    }
                    3 => {
                        let i = iban(&mut rng);
                        plant(&i);
                        format!("Refund to IBAN {i}\nthanks")
                    }
                    4 => {
                        let a = ip(&mut rng);
                        plant(&a);
                        format!("placed from {a} (flagged by fraud check)")
                    }
                    5 => String::new(),
                    _ => "Leave the parcel at the door.".to_owned(),
                };
                let status = ["new", "paid", "shipped", "delivered"][rng.below(4)];
                writeln!(
                    out,
                    "{o}\t{date}\t{customer}\t{}\t{status}\t{}\t{}.{:02}",
                    2 * customer - 1,
                    esc(&note),
                    10 + rng.below(900),
                    rng.below(100)
                )?;
            }
            writeln!(out, "\\.\n\n")?;
        }

        writeln!(
            out,
            "COPY public.payments (id, order_id, ordered_at, card_number, iban, amount, payer_ip) FROM stdin;"
        )?;
        for o in 1..=orders {
            let mut rng = self.rng(5, o);
            let (_, date) = Self::order_date(o);
            let (c, i, a) = (card(&mut rng), iban(&mut rng), ip(&mut rng));
            plant(&c);
            plant(&i);
            plant(&a);
            writeln!(
                out,
                "{o}\t{o}\t{date}\t{c}\t{i}\t{}.{:02}\t{a}",
                10 + rng.below(900),
                rng.below(100)
            )?;
        }
        writeln!(out, "\\.\n\n")?;

        writeln!(
            out,
            "COPY public.products (id, name, description, price) FROM stdin;"
        )?;
        for id in 1..=200 {
            let mut rng = self.rng(6, id);
            writeln!(
                out,
                "{id}\t{} {id}\tA fine {} for every home, model {id}.\t{}.{:02}",
                rng.pick(PRODUCTS),
                rng.pick(PRODUCTS).to_lowercase(),
                1 + rng.below(300),
                rng.below(100)
            )?;
        }
        writeln!(out, "\\.\n\n")?;

        // Support tickets: several lines of prose, tabs, backslashes.
        writeln!(
            out,
            "COPY public.support_tickets (id, customer_id, subject, body, opened_at) FROM stdin;"
        )?;
        for t in 1..=n / 2 {
            let mut rng = self.rng(7, t);
            let customer = 1 + (t * 17) % n;
            let c = card(&mut rng);
            let p = phone(&mut rng);
            let a = ip(&mut rng);
            for v in [&c, &p, &a] {
                plant(v);
            }
            let body = format!(
                "Hello,\nmy order has not arrived. You can reach me at {} or on {p}.\n\tThe card used was {c} (path C:\\orders\\{t}).\nLogged in from {a}.\nRegards",
                self.customer(customer).email
            );
            writeln!(
                out,
                "{t}\t{customer}\tWhere is order {}?\t{}\t2025-0{}-1{} 09:00:00+00",
                t * 3,
                esc(&body),
                1 + rng.below(9),
                rng.below(10)
            )?;
        }
        writeln!(out, "\\.\n\n")?;
        writeln!(
            out,
            "SELECT pg_catalog.setval('public.customers_id_seq', {n}, true);\n\n"
        )?;
        out.write_all(CONSTRAINTS.as_bytes())?;
        Ok(())
    }
}

fn hex32(rng: &mut Rng) -> String {
    format!("{:016x}{:016x}", rng.next(), rng.next())
}

const HEADER: &str = r#"--
-- PostgreSQL database dump
--

\restrict GeneratedShopDumpRestrictKey0123456789

-- Dumped from database version 15.18
-- Dumped by pg_dump version 15.18

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: customers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.customers (
    id integer NOT NULL,
    first_name text NOT NULL,
    last_name text NOT NULL,
    full_name text GENERATED ALWAYS AS (
CASE
    WHEN (first_name IS NULL) THEN last_name
    ELSE ((first_name || ' '::text) || last_name)
END) STORED,
    email character varying(120) NOT NULL,
    phone text,
    birth_date date,
    password_hash text,
    last_login_ip inet,
    notes text,
    created_at timestamp with time zone NOT NULL
);

CREATE SEQUENCE public.customers_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.customers_id_seq OWNED BY public.customers.id;

CREATE TABLE public.addresses (
    id integer NOT NULL,
    customer_id integer NOT NULL,
    line1 text NOT NULL,
    line2 text,
    city text NOT NULL,
    postcode text,
    country character(2) NOT NULL
);

CREATE TABLE public.products (
    id integer NOT NULL,
    name text NOT NULL,
    description text,
    price numeric(10,2) NOT NULL
);

CREATE TABLE public.orders (
    id bigint NOT NULL,
    ordered_at date NOT NULL,
    customer_id integer NOT NULL,
    shipping_address_id integer,
    status text NOT NULL,
    note text,
    total numeric(10,2) NOT NULL
)
PARTITION BY RANGE (ordered_at);

CREATE TABLE public.orders_2024 (
    id bigint NOT NULL,
    ordered_at date NOT NULL,
    customer_id integer NOT NULL,
    shipping_address_id integer,
    status text NOT NULL,
    note text,
    total numeric(10,2) NOT NULL
);

CREATE TABLE public.orders_2025 (
    id bigint NOT NULL,
    ordered_at date NOT NULL,
    customer_id integer NOT NULL,
    shipping_address_id integer,
    status text NOT NULL,
    note text,
    total numeric(10,2) NOT NULL
);

CREATE TABLE public.order_items (
    id integer NOT NULL,
    order_id bigint NOT NULL,
    ordered_at date NOT NULL,
    product_id integer NOT NULL,
    quantity integer NOT NULL,
    unit_price numeric(10,2) NOT NULL
);

CREATE TABLE public.payments (
    id integer NOT NULL,
    order_id bigint NOT NULL,
    ordered_at date NOT NULL,
    card_number text NOT NULL,
    iban text,
    amount numeric(10,2) NOT NULL,
    payer_ip inet
);

CREATE TABLE public.support_tickets (
    id integer NOT NULL,
    customer_id integer NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    opened_at timestamp with time zone NOT NULL
);

ALTER TABLE ONLY public.orders ATTACH PARTITION public.orders_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');

ALTER TABLE ONLY public.orders ATTACH PARTITION public.orders_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');

ALTER TABLE ONLY public.customers ALTER COLUMN id SET DEFAULT nextval('public.customers_id_seq'::regclass);

"#;

const CONSTRAINTS: &str = r#"--
-- Name: addresses addresses_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.addresses
    ADD CONSTRAINT addresses_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_email_key UNIQUE (email);

ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id, ordered_at);

ALTER TABLE ONLY public.orders_2024
    ADD CONSTRAINT orders_2024_pkey PRIMARY KEY (id, ordered_at);

ALTER TABLE ONLY public.orders_2025
    ADD CONSTRAINT orders_2025_pkey PRIMARY KEY (id, ordered_at);

ALTER TABLE ONLY public.order_items
    ADD CONSTRAINT order_items_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.payments
    ADD CONSTRAINT payments_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.support_tickets
    ADD CONSTRAINT support_tickets_pkey PRIMARY KEY (id);

ALTER INDEX public.orders_pkey ATTACH PARTITION public.orders_2024_pkey;

ALTER INDEX public.orders_pkey ATTACH PARTITION public.orders_2025_pkey;

ALTER TABLE ONLY public.addresses
    ADD CONSTRAINT addresses_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id);

ALTER TABLE ONLY public.order_items
    ADD CONSTRAINT order_items_order_fkey FOREIGN KEY (order_id, ordered_at) REFERENCES public.orders(id, ordered_at);

ALTER TABLE ONLY public.order_items
    ADD CONSTRAINT order_items_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(id);

ALTER TABLE public.orders
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id);

ALTER TABLE public.orders
    ADD CONSTRAINT orders_shipping_address_id_fkey FOREIGN KEY (shipping_address_id) REFERENCES public.addresses(id);

ALTER TABLE ONLY public.payments
    ADD CONSTRAINT payments_order_fkey FOREIGN KEY (order_id, ordered_at) REFERENCES public.orders(id, ordered_at);

ALTER TABLE ONLY public.support_tickets
    ADD CONSTRAINT support_tickets_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id);

--
-- PostgreSQL database dump complete
--

\unrestrict GeneratedShopDumpRestrictKey0123456789

"#;

/// The policy a user writes from the column names alone: every column
/// whose name says it is personal gets the rule its name suggests; the
/// free-text columns (notes, tickets) get none.
pub const POLICY_FROM_NAMES: &str = r#"[columns]
"customers.first_name" = "first-name"
"customers.last_name" = "last-name"
"customers.email" = "email"
"customers.phone" = "phone"
"customers.birth_date" = { rule = "date-shift", days = 60 }
"customers.password_hash" = "hash"
"customers.last_login_ip" = "ip"
"addresses.line1" = "address"
"addresses.line2" = "address"
"addresses.postcode" = "null"
"payments.card_number" = "card"
"payments.iban" = "iban"
"payments.payer_ip" = "ip"
"#;

//! The engine end to end on small dumps.

use std::collections::BTreeSet;

use super::{Error, Policy, sanitize};

const DUMP: &str = include_str!("testdata/small.sql");

const POLICY: &str = r#"
[columns]
"customers.email" = "email"
"customers.full_name" = "name"
"customers.phone" = "phone"
"customers.birth_date" = { rule = "date-shift", days = 20 }
"customers.plan" = "keep"
"orders.note" = "text"
"countries.name" = "keep"
"#;

fn run(dump: &str, policy: &str, key: &[u8]) -> Result<(String, super::Report), Error> {
    let policy = Policy::from_toml("p.toml", policy).unwrap();
    let mut out = Vec::new();
    let report = sanitize(|| Ok(dump.as_bytes()), &mut out, &policy, key)?;
    Ok((String::from_utf8(out).unwrap(), report))
}

/// The rows of `table` in a dump.
fn rows(dump: &str, table: &str) -> Vec<Vec<String>> {
    let header = format!("COPY public.{table} (");
    let mut lines = dump.lines().skip_while(|l| !l.starts_with(&header));
    lines.next();
    lines
        .take_while(|l| *l != "\\.")
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

#[test]
fn pii_is_gone_and_everything_else_is_unchanged() {
    let (out, report) = run(DUMP, POLICY, b"secret").unwrap();
    for original in [
        "ada@lovelace.org",
        "alan@turing.org",
        "Ada Lovelace",
        "Alan Turing",
        "7946 0958",
        "555-0143",
        "1815-12-10",
        "Back\\\\slash",
        "first order",
    ] {
        assert!(!out.contains(original), "{original} is still in:\n{out}");
    }
    // Schema, constraints and unmasked data pass through.
    let schema = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.contains('\t') && !l.starts_with("COPY"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(schema(&out), schema(DUMP));
    assert_eq!(rows(&out, "countries"), rows(DUMP, "countries"));
    let customers = rows(&out, "customers");
    assert_eq!(customers.len(), 4);
    assert_eq!(customers[0][0], "1");
    assert_eq!(customers[0][5], "pro");
    assert_eq!(customers[2][4], "\\N", "NULL stays NULL");
    assert!(customers[0][1].ends_with("@example.com"));
    // The phone keeps its shape.
    assert_eq!(customers[0][3].len(), "+44 20 7946 0958".len());
    assert!(customers[0][3].starts_with('+'));
    assert_eq!(report.tables.len(), 3);
    assert!(
        report
            .tables
            .iter()
            .all(|(_, before, after)| before == after)
    );
    assert_eq!(report.key_id.len(), 16);
}

#[test]
fn the_same_key_gives_the_same_output() {
    let (a, _) = run(DUMP, POLICY, b"one").unwrap();
    let (b, _) = run(DUMP, POLICY, b"one").unwrap();
    let (c, _) = run(DUMP, POLICY, b"two").unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn equal_values_mask_equally_across_tables() {
    let dump = DUMP.replace("first order for ada@lovelace.org", "ada@lovelace.org");
    let policy = POLICY.replace("\"orders.note\" = \"text\"", "\"orders.note\" = \"email\"");
    let (out, _) = run(&dump, &policy, b"k").unwrap();
    assert_eq!(rows(&out, "orders")[0][2], rows(&out, "customers")[0][1]);
}

#[test]
fn unique_columns_stay_unique() {
    // 300 customers whose names collide often after masking (the fake name
    // space is small), under a unique constraint.
    let mut dump = String::from(
        "CREATE TABLE public.people (\n    id integer NOT NULL,\n    full_name text\n);\n\nCOPY public.people (id, full_name) FROM stdin;\n",
    );
    for i in 0..3000 {
        dump.push_str(&format!("{i}\tPerson {i}\n"));
    }
    dump.push_str("\\.\n\nALTER TABLE ONLY public.people\n    ADD CONSTRAINT people_name_key UNIQUE (full_name);\n\n-- PostgreSQL database dump complete\n");
    let (out, _) = run(&dump, "[columns]\n\"people.full_name\" = \"name\"\n", b"k").unwrap();
    let names: Vec<String> = rows(&out, "people")
        .into_iter()
        .map(|r| r[1].clone())
        .collect();
    let distinct: BTreeSet<&String> = names.iter().collect();
    assert_eq!(names.len(), 3000);
    assert_eq!(distinct.len(), 3000);
}

#[test]
fn an_incomplete_dump_is_refused() {
    let cut = &DUMP[..DUMP.find("-- PostgreSQL database dump complete").unwrap()];
    let e = run(cut, POLICY, b"k").unwrap_err();
    assert!(matches!(e, Error::Incomplete), "{e}");
}

/// customers ← orders ← payments, customers ← addresses → countries; a
/// lookup table `plans` referenced by nothing kept whole.
fn shop(customers: usize) -> String {
    let mut d = String::new();
    d.push_str("CREATE TABLE public.addresses (\n    id integer NOT NULL,\n    customer_id integer NOT NULL,\n    country text\n);\n\n");
    d.push_str("CREATE TABLE public.countries (\n    code text NOT NULL\n);\n\n");
    d.push_str("CREATE TABLE public.customers (\n    id integer NOT NULL,\n    referrer_id integer\n);\n\n");
    d.push_str("CREATE TABLE public.orders (\n    id integer NOT NULL,\n    customer_id integer NOT NULL\n);\n\n");
    d.push_str("CREATE TABLE public.payments (\n    id integer NOT NULL,\n    order_id integer,\n    payer_id integer NOT NULL\n);\n\n");
    d.push_str("CREATE TABLE public.plans (\n    id integer NOT NULL\n);\n\n");
    d.push_str("COPY public.addresses (id, customer_id, country) FROM stdin;\n");
    for c in 0..customers {
        d.push_str(&format!("{c}\t{c}\t{}\n", ["FR", "DE", "IT"][c % 3]));
    }
    d.push_str("\\.\n\nCOPY public.countries (code) FROM stdin;\nFR\nDE\nIT\n\\.\n\n");
    d.push_str("COPY public.customers (id, referrer_id) FROM stdin;\n");
    for c in 0..customers {
        // Each customer was referred by the one before: a self reference
        // that pulls whole chains of customers in.
        let referrer = if c % 10 == 0 {
            "\\N".to_owned()
        } else {
            (c - 1).to_string()
        };
        d.push_str(&format!("{c}\t{referrer}\n"));
    }
    d.push_str("\\.\n\nCOPY public.orders (id, customer_id) FROM stdin;\n");
    for o in 0..customers * 3 {
        d.push_str(&format!("{o}\t{}\n", o % customers));
    }
    d.push_str("\\.\n\nCOPY public.payments (id, order_id, payer_id) FROM stdin;\n");
    for p in 0..customers * 3 {
        let order = if p % 7 == 0 {
            "\\N".to_owned()
        } else {
            p.to_string()
        };
        d.push_str(&format!("{p}\t{order}\t{}\n", (p * 7) % customers));
    }
    d.push_str("\\.\n\nCOPY public.plans (id) FROM stdin;\n1\n2\n\\.\n\n");
    for (table, pk) in [
        ("addresses", "id"),
        ("countries", "code"),
        ("customers", "id"),
        ("orders", "id"),
        ("payments", "id"),
        ("plans", "id"),
    ] {
        d.push_str(&format!("ALTER TABLE ONLY public.{table}\n    ADD CONSTRAINT {table}_pkey PRIMARY KEY ({pk});\n\n"));
    }
    for (table, column, parent, pcol) in [
        ("addresses", "customer_id", "customers", "id"),
        ("addresses", "country", "countries", "code"),
        ("customers", "referrer_id", "customers", "id"),
        ("orders", "customer_id", "customers", "id"),
        ("payments", "order_id", "orders", "id"),
        ("payments", "payer_id", "customers", "id"),
    ] {
        d.push_str(&format!("ALTER TABLE ONLY public.{table}\n    ADD CONSTRAINT {table}_{column}_fkey FOREIGN KEY ({column}) REFERENCES public.{parent}({pcol});\n\n"));
    }
    d.push_str("--\n-- PostgreSQL database dump complete\n--\n");
    d
}

fn ids(dump: &str, table: &str, column: usize) -> BTreeSet<String> {
    rows(dump, table)
        .into_iter()
        .map(|r| r[column].clone())
        .collect()
}

#[test]
fn sampling_keeps_a_fraction_and_closes_over_foreign_keys() {
    let dump = shop(2000);
    let policy = "[sample]\nfraction = 0.1\nroots = [\"orders\"]\n";
    let (out, report) = run(&dump, policy, b"k").unwrap();

    let orders = rows(&out, "orders");
    let share = orders.len() as f64 / 6000.0;
    assert!((0.08..0.12).contains(&share), "kept {share} of the orders");

    // Every reference points at a kept row.
    let customers = ids(&out, "customers", 0);
    let order_ids = ids(&out, "orders", 0);
    for order in &orders {
        assert!(
            customers.contains(&order[1]),
            "order {order:?} lost its customer"
        );
    }
    for row in rows(&out, "customers") {
        assert!(
            row[1] == "\\N" || customers.contains(&row[1]),
            "referrer of {row:?}"
        );
    }
    for row in rows(&out, "addresses") {
        assert!(customers.contains(&row[1]), "address {row:?}");
    }
    for row in rows(&out, "payments") {
        assert!(
            row[1] == "\\N" || order_ids.contains(&row[1]),
            "payment {row:?}"
        );
        assert!(customers.contains(&row[2]), "payer of {row:?}");
    }
    // Customers are only those needed; lookup tables are whole.
    assert!(customers.len() < 2000, "{}", customers.len());
    assert_eq!(ids(&out, "countries", 0).len(), 3);
    assert_eq!(ids(&out, "plans", 0).len(), 2);
    // Addresses of kept customers are all kept.
    assert_eq!(rows(&out, "addresses").len(), customers.len());

    let counts: Vec<(String, u64, u64)> = report
        .tables
        .iter()
        .map(|(t, a, b)| (t.name.clone(), *a, *b))
        .collect();
    assert!(
        counts.contains(&("orders".into(), 6000, orders.len() as u64)),
        "{counts:?}"
    );

    // The sample is the same every run with the same key.
    let (again, _) = run(&dump, policy, b"k").unwrap();
    assert_eq!(out, again);
}

#[test]
fn roots_that_are_parents_keep_their_children() {
    let dump = shop(1000);
    let (out, _) = run(
        &dump,
        "[sample]\nfraction = 0.2\nroots = [\"customers\"]\n",
        b"k",
    )
    .unwrap();
    let customers = ids(&out, "customers", 0);
    // Sampled customers plus the referrer chains they pull in.
    assert!(
        customers.len() >= 200 && customers.len() < 1000,
        "{}",
        customers.len()
    );
    let orders = rows(&out, "orders");
    assert_eq!(
        orders.len(),
        customers.len() * 3,
        "every order of a kept customer"
    );
    let order_ids = ids(&out, "orders", 0);
    for row in rows(&out, "payments") {
        assert!(row[1] == "\\N" || order_ids.contains(&row[1]));
        assert!(customers.contains(&row[2]));
    }
}

#[test]
fn psql_restrict_keys_are_derived_from_the_masking_key() {
    let dump = DUMP.replace(
        "SET statement_timeout = 0;",
        "\\restrict AbCdEfRandom123\n\nSET statement_timeout = 0;",
    ) + "\\unrestrict AbCdEfRandom123\n";
    let other = dump.replace("AbCdEfRandom123", "ZyXwRandom987");
    let (a, _) = run(&dump, POLICY, b"k").unwrap();
    let (b, _) = run(&other, POLICY, b"k").unwrap();
    assert_eq!(a, b, "a new pg_dump key does not change the snapshot");
    assert!(!a.contains("AbCdEfRandom123"));
    let key = a
        .lines()
        .find_map(|l| l.strip_prefix("\\restrict "))
        .unwrap();
    assert_eq!(
        a.lines().find_map(|l| l.strip_prefix("\\unrestrict ")),
        Some(key)
    );
    assert_eq!(key.len(), 64);
}

/// A partitioned `orders` whose foreign key to `customers` is declared on
/// the partitioned table only (what `ALTER TABLE orders ADD FOREIGN KEY`
/// gives), with a generated column pg_dump prints over several lines,
/// free text, and an empty phone.
fn partitioned(customers: usize) -> String {
    let mut d = String::from(
        "\\restrict k\n\nCREATE TABLE public.customers (\n    id integer NOT NULL,\n    first_name text NOT NULL,\n    phone text,\n    label text GENERATED ALWAYS AS (\nCASE\n    WHEN (phone IS NULL) THEN first_name\n    ELSE ((first_name || ' '::text) || phone)\nEND) STORED\n);\n\n",
    );
    d.push_str("CREATE TABLE public.orders (\n    id integer NOT NULL,\n    year integer NOT NULL,\n    customer_id integer NOT NULL,\n    note text\n)\nPARTITION BY RANGE (year);\n\n");
    for year in [2024, 2025] {
        d.push_str(&format!("CREATE TABLE public.orders_{year} (\n    id integer NOT NULL,\n    year integer NOT NULL,\n    customer_id integer NOT NULL,\n    note text\n);\n\nALTER TABLE ONLY public.orders ATTACH PARTITION public.orders_{year} FOR VALUES FROM ({year}) TO ({});\n\n", year + 1));
    }
    d.push_str("COPY public.customers (id, first_name, phone) FROM stdin;\n");
    for c in 0..customers {
        let phone = if c % 5 == 0 {
            String::new()
        } else {
            format!("+44 20 7946 {c:04}")
        };
        d.push_str(&format!("{c}\tName{c}\t{phone}\n"));
    }
    d.push_str("\\.\n\n");
    for year in [2024, 2025] {
        d.push_str(&format!(
            "COPY public.orders_{year} (id, year, customer_id, note) FROM stdin;\n"
        ));
        for o in 0..customers * 2 {
            if (o % 2 == 0) == (year == 2024) {
                d.push_str(&format!(
                    "{o}\t{year}\t{}\tcall +1 (415) 555-{:04} or mail n{o}@shop.test\n",
                    o % customers,
                    o % 10000
                ));
            }
        }
        d.push_str("\\.\n\n");
    }
    d.push_str("ALTER TABLE ONLY public.customers\n    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);\n\n");
    d.push_str("ALTER TABLE ONLY public.orders\n    ADD CONSTRAINT orders_pkey PRIMARY KEY (id, year);\n\n");
    d.push_str("ALTER TABLE public.orders\n    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id);\n\n");
    d.push_str("--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict k\n");
    d
}

const PARTITIONED_POLICY: &str =
    "[columns]\n\"customers.first_name\" = \"first-name\"\n\"customers.phone\" = \"phone\"\n";

#[test]
fn a_generated_column_over_several_lines_is_read() {
    // Regression: "cannot read this column: CASE".
    let (_, report) = run(&partitioned(10), PARTITIONED_POLICY, b"k").unwrap();
    let label = report.columns.iter().find(|c| c.column == "label").unwrap();
    assert_eq!(label.handling, crate::Handling::Generated);
}

#[test]
fn a_key_on_the_partitioned_table_binds_every_partition() {
    // Regression: with the key on the parent every partition row was kept,
    // and the sample did not restore.
    let dump = partitioned(400);
    let policy =
        format!("{PARTITIONED_POLICY}\n[sample]\nfraction = 0.1\nroots = [\"customers\"]\n");
    let (out, report) = run(&dump, &policy, b"k").unwrap();
    let kept = ids(&out, "customers", 0);
    assert!((20..80).contains(&kept.len()), "{} customers", kept.len());
    let mut orders = 0;
    for year in ["orders_2024", "orders_2025"] {
        for row in rows(&out, year) {
            assert!(
                kept.contains(&row[2]),
                "{year} row {row:?} lost its customer"
            );
            orders += 1;
        }
    }
    assert_eq!(orders, kept.len() * 2, "every order of a kept customer");
    let after: u64 = report
        .tables
        .iter()
        .filter(|(t, _, _)| t.name.starts_with("orders_"))
        .map(|t| t.2)
        .sum();
    assert_eq!(after, orders as u64);
}

#[test]
fn personal_data_in_free_text_is_masked_in_place() {
    // Regression: phone numbers in an order's note survived.
    let (out, report) = run(&partitioned(50), PARTITIONED_POLICY, b"k").unwrap();
    assert!(!out.contains("(415) 555-"), "phones survived");
    assert!(!out.contains("@shop.test"), "emails survived");
    let note = &rows(&out, "orders_2024")[0][3];
    assert!(
        note.starts_with("call +") && note.contains(" or mail "),
        "{note}"
    );
    assert!(note.ends_with("@example.com"), "{note}");
    let found = report.columns.iter().find(|c| c.column == "note").unwrap();
    assert_eq!(
        found.table.name, "orders",
        "partitions report as their table"
    );
    assert_eq!(
        found.found.to_string(),
        "100 email addresses, 100 phone numbers"
    );
    assert_eq!(
        report
            .masked
            .iter()
            .find(|(c, _)| c == "public.orders.note")
            .unwrap()
            .1,
        "scrub"
    );
}

#[test]
fn empty_values_stay_empty() {
    // Regression: an empty phone became a fake number.
    let (out, _) = run(&partitioned(10), PARTITIONED_POLICY, b"k").unwrap();
    let customers = rows(&out, "customers");
    assert_eq!(customers[0][2], "", "customer 0 has no phone");
    assert_ne!(customers[1][2], "", "customer 1 has one");
    assert_ne!(customers[1][2], "+44 20 7946 0001");
}

#[test]
fn found_stop_lists_the_columns_and_writes_nothing() {
    let policy = format!("{PARTITIONED_POLICY}\n[free-text]\nfound = \"stop\"\n");
    let policy = Policy::from_toml("p.toml", &policy).unwrap();
    let dump = partitioned(10);
    let mut out = Vec::new();
    let e = sanitize(|| Ok(dump.as_bytes()), &mut out, &policy, b"k").unwrap_err();
    let first = 1 + dump.lines().position(|l| l.contains("@shop.test")).unwrap();
    assert_eq!(
        e.to_string(),
        "personal data found inside columns the policy keeps ([free-text] found = \"stop\"):\n  - public.orders.note: 20 email addresses, 20 phone numbers (the first at line {first})\ngive each a rule (\"scrub\" masks what is found in place; \"verbatim\" keeps the column as it is), or set found = \"mask\"".replace("{first}", &first.to_string())
    );
    assert!(out.is_empty());
    // `verbatim` marks the column reviewed; `scrub` masks it in any mode.
    for rule in ["verbatim", "scrub"] {
        let policy = format!(
            "{PARTITIONED_POLICY}\"orders.note\" = \"{rule}\"\n[free-text]\nfound = \"stop\"\n"
        );
        let (out, _) = run(&dump, &policy, b"k").unwrap();
        assert_eq!(out.contains("@shop.test"), rule == "verbatim");
    }
}

#[test]
fn secrets_pictures_and_second_address_lines_need_a_rule() {
    // Regression: name detection missed `password`, a bytea `picture` and
    // `address2`.
    let dump = "CREATE TABLE public.users (\n    id integer NOT NULL,\n    password text,\n    picture bytea,\n    address2 text,\n    api_key text,\n    thumbnail_count integer\n);\n\nCOPY public.users (id, password, picture, address2, api_key, thumbnail_count) FROM stdin;\n1\thunter2\t\\\\x89504e47\tFlat 2\tk_123\t3\n\\.\n\n-- PostgreSQL database dump complete\n";
    let e = run(dump, "", b"k").unwrap_err().to_string();
    for column in ["password", "picture", "address2", "api_key"] {
        assert!(
            e.contains(&format!("public.users.{column} looks like personal data")),
            "{column}: {e}"
        );
    }
    assert!(!e.contains("thumbnail_count"), "{e}");
    let (out, _) = run(
        dump,
        "[columns]\n\"users.password\" = \"hash\"\n\"users.picture\" = \"null\"\n\"users.address2\" = \"address\"\n\"users.api_key\" = \"null\"\n",
        b"k",
    )
    .unwrap();
    assert!(
        !out.contains("hunter2") && !out.contains("Flat 2") && !out.contains("k_123"),
        "{out}"
    );
}

#[test]
fn copy_lines_inside_function_bodies_are_not_data() {
    let dump = format!(
        "CREATE FUNCTION public.f() RETURNS void\n    LANGUAGE plpgsql\n    AS $$\nbegin\nCOPY customers FROM stdin;\nend $$;\n\n{}",
        partitioned(5)
    );
    let (out, _) = run(&dump, PARTITIONED_POLICY, b"k").unwrap();
    assert!(out.contains("\nCOPY customers FROM stdin;\nend $$;\n"));
}

#[test]
fn the_report_carries_the_size_of_the_output() {
    let (out, report) = run(DUMP, POLICY, b"k").unwrap();
    assert_eq!(report.output_bytes, out.len() as u64);
}

#[test]
fn empty_stays_empty_and_null_stays_null_under_every_rule() {
    // Regression: an empty phone became a fake number while an empty
    // address stayed empty. Every rule, through a whole dump: an empty or
    // blank value is written back as it was (only `null` makes it NULL),
    // and NULL stays NULL.
    let rules = [
        "\"email\"",
        "\"name\"",
        "\"first-name\"",
        "\"last-name\"",
        "\"phone\"",
        "\"address\"",
        "\"text\"",
        "{ rule = \"date-shift\", days = 3 }",
        "\"hash\"",
        "\"card\"",
        "\"iban\"",
        "\"ip\"",
        "\"scrub\"",
        "\"keep\"",
        "\"verbatim\"",
        "{ rule = \"fixed\", value = \"x\" }",
        "\"null\"",
    ];
    let columns: Vec<String> = (0..rules.len()).map(|i| format!("v{i}")).collect();
    let mut dump = String::from("CREATE TABLE public.t (\n    id integer NOT NULL");
    for (c, rule) in columns.iter().zip(rules) {
        let kind = if rule.contains("date-shift") {
            "date"
        } else {
            "text"
        };
        dump.push_str(&format!(",\n    {c} {kind}"));
    }
    dump.push_str(&format!(
        "\n);\n\nCOPY public.t (id, {}) FROM stdin;\n",
        columns.join(", ")
    ));
    for (id, value) in [(1, ""), (2, "\\N"), (3, "  ")] {
        dump.push_str(&id.to_string());
        for _ in &columns {
            dump.push('\t');
            dump.push_str(value);
        }
        dump.push('\n');
    }
    dump.push_str("\\.\n\n-- PostgreSQL database dump complete\n");
    let mut policy = String::from("[columns]\n");
    for (c, rule) in columns.iter().zip(rules) {
        policy.push_str(&format!("\"t.{c}\" = {rule}\n"));
    }
    let (out, _) = run(&dump, &policy, b"k").unwrap();
    let rows = rows(&out, "t");
    assert_eq!(rows.len(), 3);
    let null = rules.len(); // the last column, `null`
    for (row, value) in rows.iter().zip(["", "\\N", "  "]) {
        for (i, rule) in rules.iter().enumerate() {
            let expected = if i + 1 == null { "\\N" } else { value };
            assert_eq!(row[i + 1], expected, "rule {rule} on {value:?}");
        }
    }
}

/// An input that passes over COPY blocks itself (the plugin's dump, which
/// the host searches) gives the same output and report as one read through,
/// with and without a sample, wherever its reads cut the lines.
#[test]
fn an_input_that_searches_itself_gives_the_same_output() {
    use crate::input::testing::Searching;
    let sampled = format!("{POLICY}\n[sample]\nfraction = 0.5\nroots = [\"customers\"]\n");
    for policy in [POLICY, sampled.as_str()] {
        let (expected, report) = run(DUMP, policy, b"secret").unwrap();
        let policy = Policy::from_toml("p.toml", policy).unwrap();
        for step in [3, 64, 1 << 20] {
            let mut out = Vec::new();
            let got = sanitize(
                || Ok(Searching::new(DUMP.as_bytes(), step)),
                &mut out,
                &policy,
                b"secret",
            )
            .unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), expected, "step {step}");
            assert_eq!(got.tables, report.tables);
            assert_eq!(got.input_bytes, report.input_bytes);
        }
    }
}

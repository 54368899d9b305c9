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

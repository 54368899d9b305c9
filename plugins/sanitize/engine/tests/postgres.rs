//! The engine against real PostgreSQL: real sample databases (Chinook,
//! Northwind), a database of every schema shape pg_dump writes in unusual
//! ways, and a generated shop full of personal data are loaded into a
//! server, dumped with pg_dump, sanitized, and restored into fresh
//! databases with `ON_ERROR_STOP`: every sample must restore with every
//! constraint, and no original personal value may survive.
//!
//! Needs a Docker Engine and the test image run-test/postgres:15 (built by
//! tests/images/build.sh when missing); fails, never skips, without them.

mod support {
    pub mod pg;
    pub mod shop;
}

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use sanitize_engine::{Error, Handling, Policy, Report, sanitize};
use support::pg::{Pg, TempDir, sample_db};
use support::shop::{POLICY_FROM_NAMES, Planted, Shop};

const KEY: &[u8] = b"a-test-key-of-more-than-16-chars";

fn run(dump: &Path, policy: &str, out: &Path) -> Result<Report, Error> {
    let policy = Policy::from_toml("policy.toml", policy).expect("policy parses");
    let open = || {
        File::open(dump)
            .map(|f| BufReader::with_capacity(1 << 16, f))
            .map_err(|e| Error::Read(e.to_string()))
    };
    let output = BufWriter::new(File::create(out).unwrap());
    sanitize(open, output, &policy, KEY)
}

/// Sanitizes `db` whole and sampled, restores both into fresh databases,
/// and checks every table and constraint is back, with the row counts the
/// report gives. Returns the whole output and its report.
fn round_trip(pg: &Pg, db: &str, dir: &TempDir, policy: &str, sample: &str) -> (String, Report) {
    let source = dir.path(&format!("{db}.sql"));
    pg.dump(db, &[], &source);
    let shape = pg.shape(db);

    let whole = dir.path(&format!("{db}-whole.sql"));
    let report = run(&source, policy, &whole).unwrap_or_else(|e| panic!("{db}: {e}"));
    let restored = format!("{db}_whole");
    pg.create_database(&restored);
    pg.run_file(&restored, &whole)
        .unwrap_or_else(|e| panic!("{db}: the sanitized dump does not restore: {e}"));
    assert_eq!(
        pg.shape(&restored),
        shape,
        "{db}: every table and constraint"
    );
    for (table, before, after) in &report.tables {
        assert_eq!(before, after, "{db}: no sampling, every row of {table}");
        let restored_rows = pg.count(
            &restored,
            &format!("only \"{}\".\"{}\"", table.schema, table.name),
        );
        assert_eq!(
            restored_rows, *after,
            "{db}: {table} in the database and the report"
        );
    }

    let sampled = dir.path(&format!("{db}-sample.sql"));
    let sample_report = run(&source, &format!("{policy}\n{sample}"), &sampled)
        .unwrap_or_else(|e| panic!("{db} sampled: {e}"));
    let restored = format!("{db}_sample");
    pg.create_database(&restored);
    pg.run_file(&restored, &sampled)
        .unwrap_or_else(|e| panic!("{db}: the sample does not restore with its constraints: {e}"));
    assert_eq!(
        pg.shape(&restored),
        shape,
        "{db} sample: every table and constraint"
    );
    let before: u64 = sample_report.tables.iter().map(|t| t.1).sum();
    let after: u64 = sample_report.tables.iter().map(|t| t.2).sum();
    assert!(
        after < before,
        "{db}: the sample is smaller ({after} of {before} rows)"
    );
    for (table, _, after) in &sample_report.tables {
        let restored_rows = pg.count(
            &restored,
            &format!("only \"{}\".\"{}\"", table.schema, table.name),
        );
        assert_eq!(restored_rows, *after, "{db} sample: {table}");
    }
    (std::fs::read_to_string(&whole).unwrap(), report)
}

/// No value of `sql`'s result (one per line, `|`-separated) is in `text`.
fn none_survive(pg: &Pg, db: &str, sql: &str, text: &str) {
    let values = pg.sql(db, sql);
    let mut checked = 0;
    for value in values.lines().flat_map(|l| l.split('|')) {
        if value.trim().len() < 5 {
            continue;
        }
        checked += 1;
        assert!(!text.contains(value), "{db}: `{value}` survived sanitizing");
    }
    assert!(checked > 0, "{db}: nothing to check in {sql}");
}

/// The values of one column in a dump's COPY block.
fn column_values(dump: &str, table: &str, column: &str) -> Vec<String> {
    let header = dump
        .lines()
        .find(|l| l.starts_with(&format!("COPY {table} (")))
        .unwrap_or_else(|| panic!("no data for {table}"));
    let columns: Vec<&str> = header[header.find('(').unwrap() + 1..header.find(')').unwrap()]
        .split(", ")
        .collect();
    let i = columns.iter().position(|c| *c == column).unwrap();
    dump.lines()
        .skip_while(|l| *l != header)
        .skip(1)
        .take_while(|l| *l != "\\.")
        .map(|l| l.split('\t').nth(i).unwrap().to_owned())
        .collect()
}

const CHINOOK_POLICY: &str = r#"
[columns]
"artist.name" = "keep"
"genre.name" = "keep"
"media_type.name" = "keep"
"playlist.name" = "keep"
"track.name" = "keep"
"customer.first_name" = "first-name"
"customer.last_name" = "last-name"
"customer.address" = "address"
"customer.postal_code" = "null"
"customer.phone" = "phone"
"customer.fax" = "phone"
"customer.email" = "email"
"employee.first_name" = "first-name"
"employee.last_name" = "last-name"
"employee.birth_date" = "date-shift"
"employee.address" = "address"
"employee.postal_code" = "null"
"employee.phone" = "phone"
"employee.fax" = "phone"
"employee.email" = "email"
"invoice.billing_address" = "address"
"invoice.billing_postal_code" = "null"
"#;

#[test]
fn chinook_sanitizes_and_its_samples_restore_with_every_constraint() {
    let pg = Pg::start("sanitize-engine-chinook");
    let dir = TempDir::new("sanitize-engine-chinook");
    // The script creates and connects to `chinook` itself.
    pg.run_file("postgres", &sample_db("chinook/Chinook_PostgreSql.sql"))
        .expect("Chinook loads");
    let (out, report) = round_trip(
        &pg,
        "chinook",
        &dir,
        CHINOOK_POLICY,
        "[sample]\nfraction = 0.25\nroots = [\"customer\"]",
    );
    none_survive(
        &pg,
        "chinook",
        "select email || '|' || coalesce(phone, '') || '|' || coalesce(address, '') from customer",
        &out,
    );
    none_survive(
        &pg,
        "chinook",
        "select email || '|' || coalesce(phone, '') || '|' || coalesce(address, '') from employee",
        &out,
    );
    let handled = |column: &str| {
        report
            .columns
            .iter()
            .find(|c| format!("{}.{}", c.table, c.column) == column)
            .unwrap_or_else(|| panic!("{column} is reported"))
            .handling
            .clone()
    };
    assert_eq!(
        handled("public.customer.email"),
        Handling::Rule("email".into())
    );
    assert_eq!(handled("public.customer.company"), Handling::Searched);
    assert_eq!(handled("public.invoice_line.quantity"), Handling::Kept);
}

const NORTHWIND_POLICY: &str = r#"
[columns]
"categories.picture" = "keep"
"customers.contact_name" = "name"
"customers.address" = "address"
"customers.postal_code" = "null"
"customers.phone" = "phone"
"customers.fax" = "phone"
"employees.first_name" = "first-name"
"employees.last_name" = "last-name"
"employees.birth_date" = { rule = "date-shift", days = 200 }
"employees.address" = "address"
"employees.postal_code" = "null"
"employees.home_phone" = "phone"
"employees.photo" = "null"
"employees.photo_path" = "null"
"orders.ship_name" = "name"
"orders.ship_address" = "address"
"orders.ship_postal_code" = "null"
"shippers.phone" = "phone"
"suppliers.contact_name" = "name"
"suppliers.address" = "address"
"suppliers.postal_code" = "null"
"suppliers.phone" = "phone"
"suppliers.fax" = "phone"
"#;

#[test]
fn northwind_sanitizes_and_its_samples_restore_with_every_constraint() {
    let pg = Pg::start("sanitize-engine-northwind");
    let dir = TempDir::new("sanitize-engine-northwind");
    pg.create_database("northwind");
    pg.run_file("northwind", &sample_db("northwind/northwind.sql"))
        .expect("Northwind loads");
    let (out, report) = round_trip(
        &pg,
        "northwind",
        &dir,
        NORTHWIND_POLICY,
        "[sample]\nfraction = 0.3\nroots = [\"customers\"]",
    );
    none_survive(
        &pg,
        "northwind",
        "select coalesce(phone, '') || '|' || coalesce(address, '') from customers",
        &out,
    );
    // Contact names are masked in their column (a company named after its
    // owner, "Ana Trujillo Emparedados y helados", keeps its name: no rule
    // can tell a person's name inside free text).
    let names = pg.sql("northwind", "select contact_name from customers");
    let masked = column_values(&out, "public.customers", "contact_name");
    assert_eq!(masked.len(), names.lines().count());
    for name in names.lines() {
        assert!(!masked.contains(&name.to_owned()), "{name} survived");
    }
    none_survive(
        &pg,
        "northwind",
        "select coalesce(home_phone, '') || '|' || coalesce(address, '') || '|' || coalesce(photo_path, '') from employees",
        &out,
    );
    // The pictures of employees are gone; the categories' are kept.
    let photo = report.columns.iter().find(|c| c.column == "photo").unwrap();
    assert_eq!(photo.handling, Handling::Rule("null".into()));
    assert_eq!(photo.sql_type, "bytea");
}

const FEATURES: &str = include_str!("testdata/features.sql");

const FEATURES_POLICY: &str = r#"
[columns]
"customers.email" = "email"
"customers.first_name" = "first-name"
"customers.last_name" = "last-name"
"customers.address1" = "address"
"customers.address2" = "address"
"customers.zip" = "phone"
"customers.password" = "hash"
"customers.api_token" = "hash"
"customers.password_hash" = "hash"
"customers.secret_answer" = "null"
"customers.picture" = "null"
"customers.phones" = "scrub"
"customers.last_ip" = "ip"
"couriers.name" = "keep"
"login_events.ip" = "ip"
"#;

#[test]
fn every_shape_pg_dump_writes_sanitizes_and_restores() {
    let pg = Pg::start("sanitize-engine-shapes");
    let dir = TempDir::new("sanitize-engine-shapes");
    pg.create_database("features");
    let script = dir.path("features-schema.sql");
    std::fs::write(&script, FEATURES).unwrap();
    pg.run_file("features", &script)
        .expect("the features schema loads");

    // Generated columns over several lines, partitions (sub-partitioned,
    // default, a key on the parent and one on a single partition), INHERITS,
    // domains with CHECKs, enums, composites, arrays, jsonb, quoted and
    // reserved identifiers, a typed table, a table without columns, a
    // function body with COPY in it.
    let (out, report) = round_trip(
        &pg,
        "features",
        &dir,
        FEATURES_POLICY,
        "[sample]\nfraction = 0.3\nroots = [\"customers\"]",
    );
    for original in [
        "@mail.test",
        "+1 415 555",
        "+44 20 7946",
        "4111 1111 1111 1111",
        "DE89 3704 0044 0532 0130 00",
        "192.168.1.",
        "2001:db8::",
        "81.0.",
        "hunter",
        "Main St",
    ] {
        assert!(!out.contains(original), "{original} survived");
    }
    let notes = report
        .columns
        .iter()
        .find(|c| c.table.name == "customers" && c.column == "notes")
        .unwrap();
    assert_eq!(notes.handling, Handling::Searched);
    assert_eq!(
        notes.found.to_string(),
        "15 email addresses, 15 phone numbers, 15 card numbers, 15 IBANs, 30 IP addresses"
    );
    let generated = report
        .columns
        .iter()
        .find(|c| c.column == "full_name")
        .unwrap();
    assert_eq!(generated.handling, Handling::Generated);

    // The same data dumped through the partitioned root.
    let via_root = dir.path("via-root.sql");
    pg.dump("features", &["--load-via-partition-root"], &via_root);
    let via_root_out = dir.path("via-root-out.sql");
    let sampled = format!("{FEATURES_POLICY}\n[sample]\nfraction = 0.3\nroots = [\"customers\"]");
    run(&via_root, &sampled, &via_root_out).expect("--load-via-partition-root");
    pg.create_database("via_root");
    pg.run_file("via_root", &via_root_out)
        .expect("a sample dumped via the partition root restores");

    // Data as INSERT statements and custom-format archives are refused
    // with what to do instead, before anything is written.
    let inserts = dir.path("inserts.sql");
    pg.dump("features", &["--column-inserts"], &inserts);
    let e = run(&inserts, FEATURES_POLICY, &dir.path("x.sql"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--inserts") && e.contains("dump again without"),
        "{e}"
    );
    let custom = dir.path("custom.dump");
    pg.dump("features", &["-Fc"], &custom);
    let e = run(&custom, FEATURES_POLICY, &dir.path("x.sql"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("custom format") && e.contains("pg_restore -f dump.sql"),
        "{e}"
    );
}

#[test]
fn dumps_of_pg_dump_13_and_17_read_like_15() {
    // The same schema dumped by pg_dump 13.16 (partitions attached next to
    // their CREATE TABLE) and 17.12 (SET transaction_timeout, \restrict),
    // from servers of those versions; restored into PostgreSQL 15 (the 17
    // dump without the setting 15 does not know).
    let pg = Pg::start("sanitize-engine-versions");
    let dir = TempDir::new("sanitize-engine-versions");
    let mut shapes = Vec::new();
    for (version, dump) in [
        ("13", include_str!("testdata/features-pg13.sql")),
        ("17", include_str!("testdata/features-pg17.sql")),
    ] {
        let dump = dump.replace("SET transaction_timeout = 0;\n", "");
        let source = dir.path(&format!("pg{version}.sql"));
        std::fs::write(&source, &dump).unwrap();
        let policy =
            format!("{FEATURES_POLICY}\n[sample]\nfraction = 0.3\nroots = [\"customers\"]");
        let out = dir.path(&format!("pg{version}-out.sql"));
        let report =
            run(&source, &policy, &out).unwrap_or_else(|e| panic!("pg_dump {version}: {e}"));
        let db = format!("from_pg{version}");
        pg.create_database(&db);
        pg.run_file(&db, &out)
            .unwrap_or_else(|e| panic!("pg_dump {version}: the sample does not restore: {e}"));
        let columns: Vec<String> = report
            .columns
            .iter()
            .map(|c| format!("{}.{} {:?} {}", c.table, c.column, c.handling, c.found))
            .collect();
        shapes.push((pg.shape(&db), columns, report.tables.clone()));
    }
    assert_eq!(shapes[0].0, shapes[1].0, "the same tables and constraints");
    assert_eq!(shapes[0].1, shapes[1].1, "the same columns handled alike");
    assert_eq!(shapes[0].2, shapes[1].2, "the same rows kept");
}

#[test]
fn a_shop_sanitized_with_a_policy_from_column_names_keeps_no_original_personal_data() {
    let dir = TempDir::new("sanitize-engine-shop");
    let generated = dir.path("generated.sql");
    let mut planted = Planted::default();
    Shop {
        customers: 1000,
        seed: 11,
    }
    .write(
        &mut BufWriter::new(File::create(&generated).unwrap()),
        Some(&mut planted),
    )
    .unwrap();
    let pg = Pg::start("sanitize-engine-shop");
    pg.create_database("shop");
    pg.run_file("shop", &generated)
        .expect("the generated shop loads");

    let policy = format!("{POLICY_FROM_NAMES}\"products.name\" = \"keep\"\n");
    let (out, report) = round_trip(
        &pg,
        "shop",
        &dir,
        &policy,
        "[sample]\nfraction = 0.1\nroots = [\"customers\"]",
    );
    planted.values.sort();
    planted.values.dedup();
    let survivors: Vec<&String> = planted
        .values
        .iter()
        .filter(|v| memchr::memmem::find(out.as_bytes(), v.as_bytes()).is_some())
        .collect();
    assert!(
        survivors.is_empty(),
        "{} of {} personal values survived, e.g. {:?}",
        survivors.len(),
        planted.values.len(),
        &survivors[..survivors.len().min(10)]
    );
    // The free text was searched and what it held masked in place.
    let found = |table: &str, column: &str| {
        report
            .columns
            .iter()
            .find(|c| c.table.name == table && c.column == column)
            .unwrap()
            .found
    };
    assert!(found("orders", "note").total() > 1000);
    assert!(found("support_tickets", "body").total() > 1000);

    // Or the run stops, naming the columns, before writing anything.
    let stop = format!("{policy}\n[free-text]\nfound = \"stop\"\n");
    let stopped = dir.path("stopped.sql");
    let e = run(&dir.path("shop.sql"), &stop, &stopped).unwrap_err();
    let Error::Found(columns) = &e else {
        panic!("{e}")
    };
    let names: Vec<&str> = columns
        .iter()
        .map(|c| c.split(':').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "public.customers.notes",
            "public.orders.note",
            "public.support_tickets.body"
        ],
        "{e}"
    );
    assert!(e.to_string().contains("(the first at line "), "{e}");
    assert_eq!(
        std::fs::metadata(&stopped).unwrap().len(),
        0,
        "nothing written"
    );
}

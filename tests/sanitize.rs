//! The built-in `sanitize` plugin against real PostgreSQL: a shop database
//! (customers, addresses, orders, payments, with foreign keys and unique
//! emails) is sanitized, seeded into a fresh server, and checked: no
//! original personal data anywhere in the output, every constraint restored,
//! a sample of about the asked fraction that is closed over foreign keys,
//! the same output for the same key, and refusals that leave nothing.
//!
//! Needs a Docker Engine and the test images (`images::ensure()` builds them).

use std::path::Path;

use crate::support::images::Container;
use crate::test::{Outcome, Test};

const KEY: &str = "an-example-key-of-32-characters!";
const OTHER_KEY: &str = "another-key-of-more-than-16-chars";
const CUSTOMERS: usize = 2000;

/// The shop database, in the `postgres` database of `pg`.
fn seed_shop(pg: &Container) {
    pg.psql(&format!(
        "create table customers(
           id int primary key,
           email text not null unique,
           full_name varchar(80) not null,
           phone text,
           birth_date date,
           plan text not null default 'free');
         create table addresses(
           id int primary key,
           customer_id int not null references customers(id),
           street text not null,
           city text not null,
           postcode text);
         create table orders(
           id int primary key,
           customer_id int not null references customers(id),
           shipping_address_id int references addresses(id),
           note text,
           created_at timestamp not null);
         create table payments(
           id int primary key,
           order_id int not null references orders(id),
           card_number text not null,
           amount numeric(10,2) not null);
         insert into customers
           select g,
                  'person' || g || '@corp-mail.test',
                  (array['Wilhelmina','Bartholomew','Gwendolyn','Thaddeus','Ottilie'])[1 + g % 5]
                    || ' ' || (array['Featherstone','Quigglesby','Marchbanks','Ravensworth'])[1 + g % 4]
                    || '-' || g,
                  '+1 (415) 555-' || lpad(g::text, 4, '0'),
                  date '1950-01-01' + (g * 7) % 20000,
                  case when g % 3 = 0 then 'pro' else 'free' end
           from generate_series(1, {CUSTOMERS}) g;
         insert into addresses
           select g, g, g || ' ' || (array['Baker','Abbey','Fleet','Carnaby'])[1 + g % 4] || ' Row',
                  (array['Springfield','Shelbyville'])[1 + g % 2], lpad((g * 13 % 99999)::text, 5, '0')
           from generate_series(1, {CUSTOMERS}) g;
         insert into orders
           select g, 1 + g % {CUSTOMERS}, case when g % 4 = 0 then null else 1 + g % {CUSTOMERS} end,
                  case when g % 5 = 0 then 'deliver to person' || (1 + g % {CUSTOMERS}) || '@corp-mail.test'
                       when g % 5 = 1 then null else 'gift wrap, ring twice' end,
                  timestamp '2026-01-01' + g * interval '37 minutes'
           from generate_series(1, {orders}) g;
         insert into payments
           select g, g, '4111 1111 1111 ' || lpad(g::text, 4, '0'), (g % 500) + 0.99
           from generate_series(1, {payments}) g;",
        orders = CUSTOMERS * 3,
        payments = CUSTOMERS * 2,
    ));
}

const POLICY: &str = r#"# What each personal column becomes.
[columns]
"customers.email" = "email"
"customers.full_name" = "name"
"customers.phone" = "phone"
"customers.birth_date" = { rule = "date-shift", days = 90 }
"customers.plan" = "keep"
"addresses.street" = "address"
"addresses.city" = { rule = "fixed", value = "Anytown" }
"addresses.postcode" = "null"
"orders.note" = "text"
"payments.card_number" = "hash"

[sample]
fraction = 0.1
roots = ["customers"]
"#;

fn tasks(source: &str, target: &str) -> String {
    format!(
        r#"[tasks.sanitize]
description = "Sanitize the shop database of {source}"
plugin = "sanitize"
config = {{ container = "{source}", database = "postgres", dir = "snapshots", name = "shop", policy = "sanitize/policy.toml" }}
allow = {{ containers = ["{source}"], write = ["snapshots"], read = ["sanitize"], env = ["SANITIZE_KEY", "SANITIZED"] }}

[tasks.seed-from-snapshot]
description = "Seed {target} from the sanitized snapshot"
plugin = "sanitize"
config = {{ mode = "seed", container = "{target}", database = "dev", dir = "snapshots", name = "shop" }}
allow = {{ containers = ["{target}"], read = ["snapshots"], env = ["SANITIZE_KEY"] }}
"#
    )
}

struct Project {
    test: Test,
}

impl Project {
    fn new(source: &str, target: &str, policy: &str) -> Project {
        Project {
            test: Test::new()
                .tasks(&tasks(source, target))
                .file("sanitize/policy.toml", policy)
                .dir("snapshots"),
        }
    }

    fn run(&self, env: &[(&str, &str)], args: &[&str]) -> Outcome {
        self.test.invoke_env(env, args)
    }

    /// `run sanitize` with the guard and key set.
    fn sanitize(&self, key: &str) -> Outcome {
        self.run(&[("SANITIZED", "1"), ("SANITIZE_KEY", key)], &["sanitize"])
    }

    /// `run --yes seed-from-snapshot` with the masking key set.
    fn seed(&self) -> Outcome {
        self.run(&[("SANITIZE_KEY", KEY)], &["--yes", "seed-from-snapshot"])
    }

    fn snapshot(&self) -> String {
        std::fs::read_to_string(self.test.path("snapshots/shop.sql")).unwrap()
    }

    fn manifest(&self) -> serde_json::Value {
        let text =
            std::fs::read_to_string(self.test.path("snapshots/shop.sql.manifest.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn files(&self) -> Vec<String> {
        files(&self.test.path("snapshots"))
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|read| {
            read.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// SQL in database `db` of `pg`, unaligned tuples.
fn query(pg: &Container, db: &str, sql: &str) -> String {
    let out = pg.exec(&[
        "psql",
        "-U",
        "postgres",
        "-d",
        db,
        "-v",
        "ON_ERROR_STOP=1",
        "-At",
        "-c",
        sql,
    ]);
    assert!(
        out.status.success(),
        "psql in {} failed for {sql:?}: {}",
        pg.name,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

fn count(pg: &Container, db: &str, sql: &str) -> usize {
    query(pg, db, sql).parse().unwrap()
}

#[test]
fn a_sanitized_snapshot_has_no_pii_restores_with_all_constraints_and_is_sampled() {
    let source = Container::postgres("run-test-sanitize-src");
    seed_shop(&source);
    let target = Container::postgres("run-test-sanitize-dev");
    let project = Project::new(&source.name, &target.name, POLICY);

    project.sanitize(KEY).ok().stdout_contains(&format!(
        "sanitized database `postgres` of container `{}` into snapshots/shop.sql: 9 columns masked",
        source.name
    ));
    assert_eq!(
        project.files(),
        ["shop.sql", "shop.sql.manifest.json"],
        "nothing else is left"
    );

    // No original personal value anywhere in the output.
    let snapshot = project.snapshot();
    let originals = query(
        &source,
        "postgres",
        "select c.email, c.full_name, c.phone, a.street, c.birth_date from customers c join addresses a on a.customer_id = c.id",
    );
    for line in originals.lines() {
        for value in line.split('|').take(4) {
            assert!(
                !snapshot.contains(value),
                "{value} is in the sanitized snapshot"
            );
        }
    }
    for fragment in [
        "@corp-mail.test",
        "Quigglesby",
        "Baker Row",
        "(415) 555-",
        "4111 1111",
        "Springfield",
        "ring twice",
    ] {
        assert!(
            !snapshot.contains(fragment),
            "{fragment} is in the sanitized snapshot"
        );
    }

    // The manifest: policy digest, key id (not the key), counts.
    let m = project.manifest();
    assert_eq!(m["schema"], "run.sanitize/v2");
    assert_eq!(m["mac"].as_str().unwrap().len(), 64, "{m}");
    assert_eq!(m["file"], "shop.sql");
    assert_eq!(m["key_id"].as_str().unwrap().len(), 16);
    assert_eq!(m["policy_digest"].as_str().unwrap().len(), 64);
    assert!(
        !m.to_string().contains(KEY),
        "the key is not in the manifest"
    );
    assert!(!snapshot.contains(KEY), "the key is not in the snapshot");
    let rows = |table: &str| -> (u64, u64) {
        let t = m["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == format!("public.{table}"))
            .unwrap_or_else(|| panic!("no {table} in {m}"));
        (
            t["rows_before"].as_u64().unwrap(),
            t["rows_after"].as_u64().unwrap(),
        )
    };
    assert_eq!(rows("customers").0, CUSTOMERS as u64);
    assert_eq!(rows("orders").0, CUSTOMERS as u64 * 3);

    // Seed a fresh server: every primary key, unique and foreign key
    // constraint is created after the data, with ON_ERROR_STOP.
    project.seed().ok().stdout_contains(&format!(
        "seeded database `dev` in container `{}` from snapshots/shop.sql",
        target.name
    ));
    let constraints = query(
        &target,
        "dev",
        "select contype, count(*) from pg_constraint where conrelid in ('customers'::regclass, 'addresses'::regclass, 'orders'::regclass, 'payments'::regclass) group by contype order by contype",
    );
    assert_eq!(
        constraints, "f|4\np|4\nu|1",
        "foreign, primary and unique keys"
    );
    for table in ["customers", "addresses", "orders", "payments"] {
        let restored = count(&target, "dev", &format!("select count(*) from {table}"));
        assert_eq!(
            restored as u64,
            rows(table).1,
            "{table}: manifest and database agree"
        );
    }

    // About the asked fraction of the root table, and nothing orphaned.
    let customers = count(&target, "dev", "select count(*) from customers");
    assert!(
        (140..=260).contains(&customers),
        "{customers} of {CUSTOMERS} customers kept"
    );
    assert_eq!(
        count(&target, "dev", "select count(*) from orders"),
        count(
            &target,
            "dev",
            "select count(*) from orders o join customers c on c.id = o.customer_id"
        ),
    );
    // Every order of a kept customer is kept (children follow their parent).
    let kept_ids = query(
        &target,
        "dev",
        "select string_agg(id::text, ',') from customers",
    );
    assert_eq!(
        count(&target, "dev", "select count(*) from orders"),
        count(
            &source,
            "postgres",
            &format!("select count(*) from orders where customer_id in ({kept_ids})")
        ),
    );
    assert_eq!(
        count(
            &target,
            "dev",
            "select count(distinct email) from customers"
        ),
        customers,
        "emails stay unique"
    );
    assert_eq!(
        count(
            &target,
            "dev",
            "select count(*) from customers where email not like '%@example.com'"
        ),
        0
    );
    assert_eq!(
        count(
            &target,
            "dev",
            "select count(*) from addresses where postcode is not null"
        ),
        0
    );
    assert_eq!(
        count(
            &target,
            "dev",
            "select count(*) from addresses where city <> 'Anytown'"
        ),
        0
    );
    // Kept columns are unchanged.
    let plans = query(
        &target,
        "dev",
        "select string_agg(id || plan, ',' order by id) from customers",
    );
    let source_plans = query(
        &source,
        "postgres",
        &format!(
            "select string_agg(id || plan, ',' order by id) from customers where id in ({kept_ids})"
        ),
    );
    assert_eq!(plans, source_plans);

    // The same key gives the same snapshot; another key another one.
    let first = project.manifest()["sha256"].clone();
    project.sanitize(KEY).ok();
    assert_eq!(project.manifest()["sha256"], first, "same key, same output");
    assert_eq!(project.snapshot(), snapshot);
    project.sanitize(OTHER_KEY).ok();
    assert_ne!(
        project.manifest()["sha256"],
        first,
        "another key, another output"
    );
}

#[test]
fn refusals_leave_nothing_at_the_output_path() {
    let source = Container::postgres("run-test-sanitize-guard");
    seed_shop(&source);
    // An extra column that looks personal, and one that holds emails under
    // an innocent name.
    source.psql(
        "alter table customers add column mobile_number text; \
         alter table payments add column remark text; \
         update payments set remark = 'refund to person' || id || '@corp-mail.test' where id % 2 = 0;",
    );
    let project = Project::new(&source.name, "unused", POLICY);

    // A plan says what would happen and needs neither guard nor key.
    project
        .run(&[], &["--plan", "sanitize"])
        .ok()
        .stdout_contains(&format!(
            "would dump database `postgres` of container `{}`, mask 9 columns, keeping 10% of public.customers, and write snapshots/shop.sql with snapshots/shop.sql.manifest.json",
            source.name
        ));
    assert_eq!(project.files(), Vec::<String>::new());

    // Without the guard.
    project
        .run(&[("SANITIZE_KEY", KEY)], &["sanitize"])
        .status(3)
        .stderr_contains("refusing to run task `sanitize`: it reads real data; set SANITIZED=1");
    assert_eq!(project.files(), Vec::<String>::new());

    // Without the key.
    project
        .run(&[("SANITIZED", "1")], &["sanitize"])
        .status(1)
        .stderr_contains("environment variable SANITIZE_KEY is not set");

    // A column that looks personal by name and has no rule stops the run;
    // emails inside `remark` are masked in place, so it is not listed.
    project
        .sanitize(KEY)
        .status(1)
        .stderr_contains(
            "public.customers.mobile_number looks like personal data (its name has `mobile`)",
        )
        .stderr_lacks("payments.remark");
    assert_eq!(
        project.files(),
        Vec::<String>::new(),
        "no partial or raw dump is left"
    );

    // With [free-text] found = "stop", what is found inside kept text stops
    // the run too, naming the column.
    let strict = POLICY.replace(
        "[sample]",
        "\"customers.mobile_number\" = \"phone\"\n\n[free-text]\nfound = \"stop\"\n\n[sample]",
    );
    std::fs::write(project.test.path("sanitize/policy.toml"), &strict).unwrap();
    project
        .sanitize(KEY)
        .status(1)
        .stderr_contains("personal data found inside columns the policy keeps")
        .stderr_contains("public.payments.remark: 2000 email addresses (the first at line ");
    assert_eq!(project.files(), Vec::<String>::new());

    // Marking them reviewed makes the run pass.
    let reviewed = POLICY.replace(
        "[sample]",
        "\"customers.mobile_number\" = \"phone\"\n\"payments.remark\" = \"text\"\n\n[sample]",
    );
    std::fs::write(project.test.path("sanitize/policy.toml"), &reviewed).unwrap();
    project.sanitize(KEY).ok();
    let good = project.snapshot();

    // A run that fails half-way (pg_dump of a missing database) leaves the
    // previous snapshot as it was and no partial file.
    let tasks =
        tasks(&source.name, "unused").replace("database = \"postgres\"", "database = \"missing\"");
    std::fs::write(project.test.path("tasks.toml"), tasks).unwrap();
    project
        .sanitize(KEY)
        .status(1)
        .stderr_contains(&format!(
            "dumping container `{}` failed: pg_dump exited with 1: ",
            source.name
        ))
        .stderr_contains("database \"missing\" does not exist");
    assert_eq!(project.files(), ["shop.sql", "shop.sql.manifest.json"]);
    assert_eq!(project.snapshot(), good);

    // Seeding needs the masking key: the manifest's MAC is checked under it.
    project
        .run(&[], &["--yes", "seed-from-snapshot"])
        .status(1)
        .stderr_contains("environment variable SANITIZE_KEY is not set");

    // Regression: a manifest copied beside an unsanitized dump, its size
    // and sha256 edited to match it, seeded it. Its MAC no longer verifies.
    let manifest_path = project.test.path("snapshots/shop.sql.manifest.json");
    let authentic = std::fs::read_to_string(&manifest_path).unwrap();
    let raw = source.exec(&["pg_dump", "-U", "postgres", "--no-owner", "postgres"]);
    assert!(raw.status.success());
    assert!(String::from_utf8_lossy(&raw.stdout).contains("@corp-mail.test"));
    std::fs::write(project.test.path("snapshots/shop.sql"), &raw.stdout).unwrap();
    let mut forged: serde_json::Value = serde_json::from_str(&authentic).unwrap();
    forged["sha256"] = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&raw.stdout)).into()
    };
    forged["bytes"] = raw.stdout.len().into();
    std::fs::write(&manifest_path, forged.to_string()).unwrap();
    project.seed().status(1).stderr_contains(
        "refusing to seed from snapshots/shop.sql: its manifest snapshots/shop.sql.manifest.json is not authentic: its MAC does not verify under the key in SANITIZE_KEY",
    );
    // A seed under another key is told so.
    project
        .run(
            &[("SANITIZE_KEY", OTHER_KEY)],
            &["--yes", "seed-from-snapshot"],
        )
        .status(1)
        .stderr_contains("was written under key id");
    std::fs::write(&manifest_path, &authentic).unwrap();

    // Seeding refuses a snapshot whose file does not match its manifest…
    std::fs::write(
        project.test.path("snapshots/shop.sql"),
        good.replace("example.com", "exampl3.com"),
    )
    .unwrap();
    project.seed().status(1).stderr_contains(
        "refusing to seed from snapshots/shop.sql: it does not match its manifest",
    );
    // …and a dump without a manifest.
    std::fs::remove_file(project.test.path("snapshots/shop.sql.manifest.json")).unwrap();
    project
        .seed()
        .status(1)
        .stderr_contains("refusing to seed from snapshots/shop.sql: it has no manifest");
}

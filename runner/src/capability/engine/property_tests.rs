//! Property tests: no string outside the engine's name grammar is ever
//! granted, and none reaches the engine, whatever the grants (`*` included).
//! Strings are generated near the grammar's edges (`/`, `..`, `%`, `?`, `#`,
//! `:`, spaces, controls, look-alike letters, hex IDs) as well as at random.

use proptest::prelude::*;

use super::HostError;
use super::fake::{FakeEngine, Rig, containers};
use crate::grant::{Grants, Patterns, name};
use crate::plugin::bindings::engine_types::Compression;

/// Strings made of name characters and the characters that once escaped.
fn near_names() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("app".to_owned()),
        Just("-".to_owned()),
        Just("1".to_owned()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("/".to_owned()),
        Just("%2e".to_owned()),
        Just("%2F".to_owned()),
        Just("?".to_owned()),
        Just("#".to_owned()),
        Just(":".to_owned()),
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("\0".to_owned()),
        Just("\u{430}".to_owned()),
        Just("\u{0131}".to_owned()),
        Just("A".to_owned()),
        Just("0123456789ab".to_owned()),
        Just("host".to_owned()),
        Just("none".to_owned()),
        Just("container:".to_owned()),
    ];
    prop::collection::vec(pieces, 0..8).prop_map(|p| p.concat())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![near_names(), any::<String>()]
}

fn everything() -> Grants {
    Grants {
        containers: Patterns::of(&["*"]),
        volumes: Patterns::of(&["*"]),
        networks: Patterns::of(&["*"]),
        images: Patterns::of(&["*"]),
        ..Default::default()
    }
}

fn is_hex_id(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Every engine call the fake saw names only IDs or grammar-valid names.
fn calls_are_clean(fake: &FakeEngine) -> Result<(), String> {
    for call in fake.calls() {
        for arg in call.split(' ').skip(1) {
            let arg = arg.strip_prefix("sha256:").unwrap_or(arg);
            let arg = arg
                .strip_prefix("name=")
                .or_else(|| arg.strip_prefix("platform="))
                .unwrap_or(arg);
            // The host's own constants: no name, the helpers' mount point.
            if arg == "-" || arg == super::super::volumes::MOUNT_POINT {
                continue;
            }
            if !is_hex_id(arg) && name::check_name(arg).is_err() {
                return Err(format!("`{call}` reached the engine"));
            }
        }
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn only_grammar_names_are_ever_granted(text in any_text()) {
        let grants = everything();
        if grants.allows_container(&text) || grants.allows_volume(&text) {
            prop_assert!(name::check_name(&text).is_ok(), "{text:?} granted");
        }
        if grants.allows_network(&text) {
            prop_assert!(name::check_network_name(&text).is_ok(), "{text:?} granted");
            prop_assert!(!matches!(text.as_str(), "host" | "none" | "bridge"));
        }
    }

    #[test]
    fn no_hostile_container_name_reaches_the_engine(text in any_text()) {
        let result: Result<(), String> = runtime().block_on(async {
            let mut rig = Rig::new(containers(&["*"]));
            rig.fake.container("app-1", "busybox:latest");
            rig.fake.container("app-1.2", "busybox:latest");
            let outcome = crate::plugin::bindings::containers::Host::open(&mut rig.host, text.clone()).await;
            if name::check_name(&text).is_err() && !is_hex_id(&text) {
                if !matches!(outcome, Err(HostError::InvalidName { .. })) {
                    return Err(format!("{text:?}: {outcome:?}"));
                }
                if !rig.fake.calls().is_empty() {
                    return Err(format!("{text:?} was looked up"));
                }
            }
            if let Ok(handle) = outcome {
                let name = rig.host.handles.get(&handle).map_err(|e| e.to_string())?.name.clone();
                if name::check_name(&name).is_err() {
                    return Err(format!("{text:?} opened `{name}`"));
                }
            }
            calls_are_clean(&rig.fake)
        });
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }

    #[test]
    fn no_hostile_volume_or_network_name_reaches_the_engine(text in any_text()) {
        let result: Result<(), String> = runtime().block_on(async {
            let fake = FakeEngine::new();
            fake.container("app-1", "busybox:latest");
            fake.volume("data");
            let mut rig = Rig::with(everything(), fake, false);
            use crate::plugin::bindings::{stacks, volumes};
            let snapshot = volumes::Host::snapshot(
                &mut rig.host, text.clone(), "out/x.tar".into(), Compression::None,
            ).await;
            let created = stacks::Host::network_create(&mut rig.host, text.clone(), Vec::new()).await;
            if name::check_name(&text).is_err()
                && !matches!(snapshot, Err(HostError::InvalidName { .. }))
            {
                return Err(format!("volume {text:?}: {snapshot:?}"));
            }
            if name::check_network_name(&text).is_err()
                && !matches!(created, Err(HostError::InvalidName { .. }))
            {
                return Err(format!("network {text:?}: {created:?}"));
            }
            calls_are_clean(&rig.fake)
        });
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }

    #[test]
    fn no_hostile_image_reference_reaches_the_engine(text in any_text()) {
        let result: Result<(), String> = runtime().block_on(async {
            let fake = FakeEngine::new();
            fake.image("busybox:latest");
            let mut rig = Rig::with(everything(), fake, false);
            use crate::plugin::bindings::images;
            let inspected = images::Host::inspect(&mut rig.host, text.clone()).await;
            let pulled = images::Host::pull(&mut rig.host, text.clone(), 1).await;
            if crate::grant::image::ImageName::parse(&text).is_err() {
                for outcome in [inspected.map(drop), pulled] {
                    if !matches!(outcome, Err(HostError::InvalidName { .. })) {
                        return Err(format!("image {text:?}: {outcome:?}"));
                    }
                }
                if !rig.fake.calls().is_empty() {
                    return Err(format!("image {text:?} reached the engine"));
                }
            }
            Ok(())
        });
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }
}

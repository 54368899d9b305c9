//! A CycloneDX 1.5 SBOM (JSON) of the packages found: one component per
//! installed package with its package URL, plus the operating system.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Report, percent_encode};
use crate::image::{Inventory, Package};
use crate::version::Scheme;

pub fn render(report: &Report) -> String {
    let mut components = Vec::new();
    for inventory in report.inventories {
        if let Some(os) = &inventory.os {
            components.push(json!({
                "type": "operating-system",
                "bom-ref": format!("os:{}:{}", inventory.target, os.id),
                "name": os.id,
                "version": os.version_id,
                "description": os.pretty_name,
            }));
        }
        for p in &inventory.packages {
            let purl = purl(inventory, p);
            components.push(json!({
                "type": "library",
                "bom-ref": format!("{purl}&target={}", percent_encode(&inventory.target)),
                "name": p.name,
                "version": p.version,
                "purl": purl,
                "properties": [
                    { "name": "run-scan:source", "value": p.source },
                    { "name": "run-scan:source-version", "value": p.source_version },
                    { "name": "run-scan:target", "value": inventory.target },
                    { "name": "run-scan:layer", "value": p.layer.map_or("-".to_owned(), |l| (l + 1).to_string()) },
                ],
            }));
        }
    }
    // A stable serial number: the same packages give the same SBOM id.
    let mut hash = Sha256::new();
    for c in &components {
        hash.update(c["bom-ref"].as_str().unwrap_or("").as_bytes());
    }
    let h = hash.finalize();
    let hex: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let uuid = format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    );
    let subject: Value = match report.inventories {
        [one] => {
            json!({ "type": "container", "bom-ref": format!("target:{}", one.target), "name": one.target })
        }
        _ => json!({ "type": "application", "bom-ref": "targets", "name": "scanned images" }),
    };
    let bom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{uuid}"),
        "version": 1,
        "metadata": {
            "tools": { "components": [{ "type": "application", "name": "run-scan", "version": env!("CARGO_PKG_VERSION") }] },
            "component": subject,
        },
        "components": components,
    });
    let mut text = serde_json::to_string_pretty(&bom).unwrap_or_default();
    text.push('\n');
    text
}

/// `pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12`.
fn purl(inventory: &Inventory, p: &Package) -> String {
    let (kind, namespace) = match p.scheme {
        Scheme::Dpkg => (
            "deb",
            inventory.os.as_ref().map_or("debian", |o| o.id.as_str()),
        ),
        Scheme::Apk => (
            "apk",
            inventory.os.as_ref().map_or("alpine", |o| o.id.as_str()),
        ),
    };
    let mut qualifiers = Vec::new();
    if !p.arch.is_empty() {
        qualifiers.push(format!("arch={}", percent_encode(&p.arch)));
    }
    if let Some(os) = &inventory.os {
        qualifiers.push(format!(
            "distro={}-{}",
            percent_encode(&os.id),
            percent_encode(&os.version_id)
        ));
    }
    if p.source != p.name {
        let key = if p.scheme == Scheme::Apk {
            "origin"
        } else {
            "upstream"
        };
        qualifiers.push(format!("{key}={}", percent_encode(&p.source)));
    }
    let mut purl = format!(
        "pkg:{kind}/{}/{}@{}",
        percent_encode(namespace),
        percent_encode(&p.name),
        percent_encode(&p.version)
    );
    if !qualifiers.is_empty() {
        purl.push('?');
        purl.push_str(&qualifiers.join("&"));
    }
    purl
}

//! Docker's side of the network-namespace helpers (chaos plugin): a container
//! in `container:<target>` network mode with NET_ADMIN as its only capability.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters as q;

use super::docker::Docker;
use super::engine::EngineError;
use super::netns::{HELPER_LABEL, NetnsSpec, TARGET_LABEL};

impl Docker {
    pub(super) async fn create_netns_helper(&self, spec: NetnsSpec) -> Result<String, EngineError> {
        let body = ContainerCreateBody {
            image: Some(spec.image),
            entrypoint: Some(Vec::new()),
            cmd: Some(spec.command),
            labels: Some(HashMap::from([
                (HELPER_LABEL.to_owned(), "netns".to_owned()),
                (TARGET_LABEL.to_owned(), spec.target.clone()),
            ])),
            host_config: Some(HostConfig {
                network_mode: Some(format!("container:{}", spec.target)),
                cap_drop: Some(vec!["ALL".into()]),
                cap_add: Some(vec!["NET_ADMIN".into()]),
                security_opt: Some(vec!["no-new-privileges".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = q::CreateContainerOptions {
            name: Some(spec.name),
            ..Default::default()
        };
        let created = self
            .client
            .create_container(Some(options), body)
            .await
            .map_err(|e| self.error(e))?;
        if let Err(e) = self
            .client
            .start_container(&created.id, None::<q::StartContainerOptions>)
            .await
        {
            let error = self.error(e);
            let _ = super::engine::Engine::remove(self, &created.id).await;
            return Err(error);
        }
        Ok(created.id)
    }
}

//! Integration tests: the real `run` binary, real components, real files.

mod test;

mod support {
    pub mod cyclonedx;
    pub mod engine_proxy;
    pub mod http_server;
    pub mod images;
    pub mod running;
    pub mod sarif;
    pub mod sshd;
}

mod authoring;
mod backup;
mod capability_cancel;
mod capability_container;
mod capability_container_engine;
mod capability_env;
mod capability_files;
mod capability_http;
mod capability_lock;
mod capability_log;
mod capability_netns;
mod capability_network;
mod capability_prompt;
mod capability_stdio;
mod chaos;
mod cli;
mod commands;
mod config_errors;
mod done_when;
mod dry_run;
mod ha_stack;
mod hostile;
mod import;
mod limits;
mod list;
mod plugin_new;
mod plugins;
mod python_plugin;
mod quickstart;
mod quickstart_build;
mod quickstart_fixtures;
mod sandbox;
mod sanitize;
mod scan;
mod scan_update;
mod scheduling;

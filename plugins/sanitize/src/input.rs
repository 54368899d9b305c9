//! The dump as the engine reads it: the host reads the file ahead of the
//! plugin (`ReadFile`), and passes over the COPY blocks the engine has no
//! use for itself, so their bytes never enter wasm memory (the schema pass
//! needs none of them, the sample passes few).

use std::io;

use run_plugin_sdk::file::ReadFile;

use crate::engine;

pub struct HostDump(pub ReadFile);

impl io::Read for HostDump {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl engine::Input for HostDump {
    fn skip_through_line(
        &mut self,
        line: &[u8],
        mid_line: bool,
    ) -> io::Result<Option<engine::Skipped>> {
        let skipped = self.0.skip_through_line(line, mid_line)?;
        Ok(Some(engine::Skipped {
            bytes: skipped.bytes,
            lines: skipped.lines,
            found: skipped.found,
        }))
    }
}

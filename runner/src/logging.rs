//! tracing setup. Text on stderr for people (`[task] message` for plugin logs),
//! JSON lines for machines (`--log-format json`). The filter comes from `--log`
//! / RUN_LOG (RUST_LOG syntax), else from -q/-v.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::{LogFormat, Options};

pub fn init(options: &Options, color: bool) {
    let level = match (options.quiet, options.verbose) {
        (0, 0) => "info",
        (1, _) => "warn",
        (q, _) if q >= 2 => "error",
        (_, 1) => "debug",
        _ => "trace",
    };
    // -v is about the runner and its plugins; libraries (Cranelift logs
    // thousands of lines per compile) stay at warn unless asked for.
    let default = format!("warn,runner={level},plugin={level}");
    let filter = options
        .log
        .as_deref()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(&default));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    let _ = match options.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.event_format(Text { color }).try_init(),
    };
}

/// `[greet] message` for plugin logs, `run: message` for the runner's own,
/// with `warning:`/`error:`/`debug:` before messages that are not info.
struct Text {
    color: bool,
}

#[derive(Default)]
struct Fields {
    message: String,
    task: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "task" => self.task = Some(value.to_owned()),
            "message" => self.message = value.to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "task" => self.task = Some(format!("{value:?}").trim_matches('"').to_owned()),
            "message" => self.message = format!("{value:?}"),
            _ => {}
        }
    }
}

impl<S, N> FormatEvent<S, N> for Text
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let prefix = match &fields.task {
            Some(task) => format!("[{task}]"),
            None => "run:".to_owned(),
        };
        let level = match *event.metadata().level() {
            Level::ERROR => Some(("error:", anstyle::AnsiColor::Red)),
            Level::WARN => Some(("warning:", anstyle::AnsiColor::Yellow)),
            Level::INFO => None,
            Level::DEBUG => Some(("debug:", anstyle::AnsiColor::Blue)),
            Level::TRACE => Some(("trace:", anstyle::AnsiColor::Magenta)),
        };
        let bold = anstyle::Style::new().bold();
        write!(writer, "{}", crate::ui::paint(self.color, bold, &prefix))?;
        if let Some((label, colour)) = level {
            write!(
                writer,
                " {}",
                crate::ui::paint(self.color, bold.fg_color(Some(colour.into())), label)
            )?;
        }
        writeln!(writer, " {}", fields.message)
    }
}

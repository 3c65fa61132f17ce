//! Log lines leave the desk (to a log shipper, to whoever reads them), so a BSN, IBAN or phone
//! number in a logged field (a platform error quoting a reply, a refused message's reason) is
//! masked in the line as it is written, whatever field carried it.

use std::io::{self, Write};
use tracing_subscriber::fmt::MakeWriter;

/// Writes to `inner` with [`webcare_domain::personal_data::mask`] applied to every write. The
/// formatter writes a whole event at once, so an identifier is never split across two writes.
pub struct Masking<W>(pub W);

impl<W: Write> Write for Masking<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(text) => {
                // Masking keeps the length in bytes, so the caller's count stays right.
                let masked = webcare_domain::personal_data::mask(text);
                self.0.write_all(masked.as_bytes())?;
                Ok(buf.len())
            }
            Err(_) => self.0.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Standard error, masked: the writer of `webcare serve`'s logs.
pub struct MaskedStderr;

impl<'a> MakeWriter<'a> for MaskedStderr {
    type Writer = Masking<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        Masking(io::stderr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_in_a_log_line_are_masked_and_the_rest_kept() {
        let mut out = Masking(Vec::new());
        let line = "WARN reply failed reply=42 reason=\"400: BSN 111222333, bel 06-12345678\"\n";
        assert_eq!(out.write(line.as_bytes()).unwrap(), line.len());
        assert_eq!(
            String::from_utf8(out.0).unwrap(),
            "WARN reply failed reply=42 reason=\"400: BSN *********, bel **-********\"\n"
        );
    }

    #[test]
    fn the_formatter_writes_through_the_mask() {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || Masking(SharedVec(sink.clone())))
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(reason = "IBAN NL91ABNA0417164300", "refused");
        });
        let logged = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("IBAN NL****************"), "{logged}");
        assert!(!logged.contains("0417164300"));
    }

    struct SharedVec(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for SharedVec {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

//! The content types a client has learned, shared by every handle it makes, so that
//! `client.stream(url)?.append(..)` in a loop costs one `HEAD` per stream, not one per handle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Beyond this many streams the table starts over: memory stays bounded for clients that touch
/// unbounded numbers of streams, at the price of one more `HEAD` for each forgotten stream.
const MAX_STREAMS: usize = 4096;

/// Stream URL → content type.
#[derive(Default)]
pub(crate) struct ContentTypes {
    known: Mutex<HashMap<Box<str>, Arc<str>>>,
}

impl ContentTypes {
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Arc<str>>> {
        // A panic while holding the lock leaves a valid map behind.
        self.known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The content type learned for `url`, if any.
    pub(crate) fn get(&self, url: &str) -> Option<Arc<str>> {
        self.table().get(url).cloned()
    }

    /// Records the content type of `url`.
    pub(crate) fn remember(&self, url: &str, content_type: &Arc<str>) {
        let mut table = self.table();
        if table.get(url) == Some(content_type) {
            return;
        }
        if table.len() >= MAX_STREAMS && !table.contains_key(url) {
            table.clear();
        }
        table.insert(url.into(), content_type.clone());
    }

    /// Forgets `url` (the stream was deleted; a new one may have another content type).
    pub(crate) fn forget(&self, url: &str) {
        self.table().remove(url);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_replaces_and_forgets() {
        let types = ContentTypes::default();
        assert_eq!(types.get("http://h/a"), None);
        types.remember("http://h/a", &Arc::from("text/plain"));
        assert_eq!(types.get("http://h/a").as_deref(), Some("text/plain"));
        types.remember("http://h/a", &Arc::from("application/json"));
        assert_eq!(types.get("http://h/a").as_deref(), Some("application/json"));
        types.forget("http://h/a");
        assert_eq!(types.get("http://h/a"), None);
    }

    #[test]
    fn memory_stays_bounded() {
        let types = ContentTypes::default();
        let json: Arc<str> = Arc::from("application/json");
        for i in 0..(MAX_STREAMS * 3) {
            types.remember(&format!("http://h/{i}"), &json);
        }
        assert!(types.table().len() <= MAX_STREAMS);
        assert!(
            types
                .get(&format!("http://h/{}", MAX_STREAMS * 3 - 1))
                .is_some()
        );
    }
}

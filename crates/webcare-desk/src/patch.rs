//! What a PATCH body needs from serde: a field that is absent (`None`), `null` (`Some(None)`:
//! clear it) or a value (`Some(Some(v))`). Use with `#[serde(default, deserialize_with =
//! "double_option")]`.

use serde::{Deserialize, Deserializer};

pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    de: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(de).map(Some)
}

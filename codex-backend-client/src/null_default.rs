//! Serde helper: treat an explicit `null` like an absent field.

use serde::{Deserialize, Deserializer};

/// Deserialises `T`, turning `null` into `T::default()`. Use together with
/// `#[serde(default)]` so an absent field also becomes the default.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

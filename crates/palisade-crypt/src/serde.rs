//! `serde` support: encrypted values and blind indexes serialize as their text form.

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

use crate::{BlindIndex, Ciphertext, Encrypted};

impl Serialize for Ciphertext {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for Ciphertext {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::from_text(&text)
            .map_err(|e| D::Error::custom(format_args!("palisade-crypt ciphertext: {}", e.kind())))
    }
}

impl<F> Serialize for Encrypted<F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.ciphertext().serialize(s)
    }
}

impl<'de, F> Deserialize<'de> for Encrypted<F> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ciphertext::deserialize(d).map(Self::new)
    }
}

impl Serialize for BlindIndex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for BlindIndex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::from_text(&text).ok_or_else(|| D::Error::custom("not a palisade-crypt blind index"))
    }
}

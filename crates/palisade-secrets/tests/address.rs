//! Address parsing as a property: whatever parses prints back to its own text and parses to
//! the same address again; arbitrary text never panics the parser.
#![allow(clippy::unwrap_used)]

use palisade_secrets::Address;
use proptest::prelude::*;

proptest! {
    #[test]
    fn parsed_addresses_round_trip(
        scheme in prop_oneof![Just("env:"), Just("file:/"), Just("systemd:")],
        rest in "[A-Za-z0-9_./-]{1,40}",
    ) {
        let text = format!("{scheme}{rest}");
        if let Ok(address) = text.parse::<Address>() {
            prop_assert_eq!(address.to_string(), text.clone());
            prop_assert_eq!(text.parse::<Address>().unwrap(), address);
        }
    }

    #[test]
    fn remote_addresses_round_trip(
        scheme in prop_oneof![Just("aws-sm:"), Just("vault:")],
        rest in "[A-Za-z0-9_./:?=#-]{1,60}",
    ) {
        let text = format!("{scheme}{rest}");
        if let Ok(address) = text.parse::<Address>() {
            prop_assert_eq!(address.to_string(), text.clone());
            prop_assert_eq!(text.parse::<Address>().unwrap(), address);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,64}") {
        let _ = text.parse::<Address>();
    }
}

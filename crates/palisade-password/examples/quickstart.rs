//! A tour of palisade-password: `cargo run -p palisade-password --example quickstart`.

#![allow(clippy::print_stdout, reason = "an example shows its results")]

use palisade_password::{
    Context, HashedBlocklist, Hasher, Params, Password, PasswordPolicy, Pepper, Peppers, SecretBox,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Registration: check the new password against policy, then hash it.
    let policy = PasswordPolicy::single_factor().with_blocklist(HashedBlocklist::from_entries([
        "password1234567",
        "qwertyuiopasdfgh",
    ]));
    let context = Context::new()
        .user_name("alice")
        .service_name("Example Shop");
    for candidate in [
        "hunter2",
        "Password1234567",
        "alice loves long walks",
        "violet staple river clock",
    ] {
        match policy.check(&Password::from(candidate), &context) {
            Ok(()) => println!(
                "policy: accepted a {}-character password",
                candidate.chars().count()
            ),
            Err(violation) => println!("policy: refused: {violation}"),
        }
    }
    let hasher = Hasher::new();
    let password = Password::from("violet staple river clock");
    let stored = hasher.hash(&password)?;
    println!("stored hash: {}…", &stored.as_str()[..31]);

    // 2. Login: verify; a wrong password and an unknown account fail alike for the user.
    let verified = hasher.verify(&password, stored.as_str())?;
    println!("login ok, needs rehash: {}", verified.needs_rehash());
    let wrong = hasher.verify(
        &Password::from("violet staple river clocks"),
        stored.as_str(),
    );
    let unknown = hasher.verify_account(&password, None);
    for (what, result) in [("wrong password", wrong), ("unknown account", unknown)] {
        let err = result.expect_err("must fail");
        println!("{what}: user sees \"{err}\", log says {}", err.kind());
    }

    // 3. Policy moves on: hashes made with weaker parameters are upgraded on the next login.
    let old = Hasher::builder()
        .params(Params::new(7168, 5, 1)?)
        .build()?
        .hash(&password)?;
    let verified = hasher.verify(&password, old.as_str())?;
    println!(
        "old hash verifies, upgrade because: {:?}",
        verified.rehash_reason()
    );

    // 4. A pepper kept outside the database; rotation keeps old hashes verifiable.
    let secret = |byte: u8| SecretBox::new(vec![byte; 32].into_boxed_slice());
    let v1 = Hasher::builder()
        .peppers(Peppers::new(Pepper::new("2026a", secret(1))?))
        .build()?;
    let peppered = v1.hash(&password)?;
    let v2 = Hasher::builder()
        .peppers(
            Peppers::new(Pepper::new("2026b", secret(2))?)
                .with_retired(Pepper::new("2026a", secret(1))?)?,
        )
        .build()?;
    let verified = v2.verify(&password, peppered.as_str())?;
    println!(
        "after pepper rotation: verifies, upgrade because: {:?}",
        verified.rehash_reason()
    );

    // 5. A tampered hash demanding 4 GiB is refused before any memory is allocated.
    let evil = stored.as_str().replace("m=19456", "m=4194304");
    let err = hasher
        .verify(&password, &evil)
        .expect_err("over the limits");
    println!("tampered hash: {}", err.kind());
    Ok(())
}

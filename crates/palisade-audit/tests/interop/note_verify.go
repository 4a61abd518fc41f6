// An independent check of palisade-audit's checkpoint notes with Go's
// golang.org/x/mod/sumdb/note (Debian: golang-go, golang-golang-x-mod-dev), run by
// tests/note_interop.rs:
//
//	note_verify verify VKEY NOTEFILE   opens the note with the verifier key, prints its text
//	note_verify sign SKEY TEXTFILE     signs the text with the signer key, prints the note
package main

import (
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/note"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: note_verify verify VKEY NOTE | sign SKEY TEXT")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "verify":
		v, err := note.NewVerifier(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "verifier key:", err)
			os.Exit(2)
		}
		n, err := note.Open(data, note.VerifierList(v))
		if err != nil {
			fmt.Fprintln(os.Stderr, "open:", err)
			os.Exit(1)
		}
		fmt.Print(n.Text)
	case "sign":
		s, err := note.NewSigner(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "signer key:", err)
			os.Exit(2)
		}
		out, err := note.Sign(&note.Note{Text: string(data)}, s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sign:", err)
			os.Exit(1)
		}
		os.Stdout.Write(out)
	default:
		os.Exit(2)
	}
}

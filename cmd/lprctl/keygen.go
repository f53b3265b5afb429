package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lprd/lprd/uplink/envelope"
)

func keygenMain(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	backend := fs.Bool("backend", false, "make the backend's HPKE recipient key pair (backend.key, backend.pub) and its Ed25519 signing key pair for acknowledgements (backend-signing.key, backend-signing.pub)")
	kemName := fs.String("kem", "mlkem768x25519", "KEM of the backend key: mlkem768x25519 or x25519")
	device := fs.String("device", "", "make the signing key pair of this device id (ID.key, ID.pub)")
	out := fs.String("out", ".", "folder to write the files to")
	force := fs.Bool("force", false, "overwrite existing files")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if *backend == (*device != "") {
		fmt.Fprintln(stderr, "lprctl keygen: give exactly one of -backend and -device ID")
		return 2
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		fmt.Fprintf(stderr, "lprctl keygen: %v\n", err)
		return 1
	}
	var err error
	if *backend {
		err = keygenBackend(*kemName, *out, *force, stdout)
	} else {
		err = keygenDevice(*device, *out, *force, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lprctl keygen: %v\n", err)
		return 1
	}
	return 0
}

func keygenBackend(kemName, dir string, force bool, stdout io.Writer) error {
	kem, err := envelope.ParseKEM(kemName)
	if err != nil {
		return err
	}
	k, err := envelope.GenerateRecipientKey(kem)
	if err != nil {
		return err
	}
	priv, err := k.MarshalPEM()
	if err != nil {
		return err
	}
	pub := k.Public().MarshalPEM()
	privPath, pubPath := filepath.Join(dir, "backend.key"), filepath.Join(dir, "backend.pub")
	if err := writeKeyFile(privPath, priv, 0o600, force); err != nil {
		return err
	}
	if err := writeKeyFile(pubPath, pub, 0o644, force); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# backend key %s, KEM %s\n# private: %s (keep on the backend only)\n# public:  %s (LPRD_BACKEND_KEY on every device)\n%s",
		k.ID, envelope.KEMName(kem), privPath, pubPath, pub)
	return keygenBackendSigning(dir, force, stdout)
}

// keygenBackendSigning writes the backend's Ed25519 key pair that signs the
// acknowledgements (docs/acks.md): backend-signing.key stays on the backend
// (lprctl listen -backend-signing-key), backend-signing.pub goes to every
// device (LPRD_BACKEND_VERIFY_KEY).
func keygenBackendSigning(dir string, force bool, stdout io.Writer) error {
	pubKey, pub, privPath, pubPath, err := writeSigningPair(dir, "backend-signing", force)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# backend signing key %s\n# private: %s (lprctl listen -backend-signing-key, keep on the backend only)\n# public:  %s (LPRD_BACKEND_VERIFY_KEY on every device)\n%s",
		envelope.SigningKeyID(pubKey), privPath, pubPath, pub)
	return nil
}

func keygenDevice(id, dir string, force bool, stdout io.Writer) error {
	if !envelope.ValidID(id) {
		return fmt.Errorf("device id %q: want 1-%d of [A-Za-z0-9._-]", id, envelope.MaxIDLen)
	}
	pubKey, pub, privPath, pubPath, err := writeSigningPair(dir, id, force)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# device %s signing key %s\n# private: %s (LPRD_SIGNING_KEY on the device, mode 0600)\n# public:  %s (the backend's devices folder)\n%s",
		id, envelope.SigningKeyID(pubKey), privPath, pubPath, pub)
	return nil
}

// writeSigningPair generates an Ed25519 signing key and writes it as NAME.key
// (mode 0600) and NAME.pub (0644) in dir.
func writeSigningPair(dir, name string, force bool) (pubKey ed25519.PublicKey, pub []byte, privPath, pubPath string, err error) {
	k, err := envelope.GenerateSigningKey()
	if err != nil {
		return nil, nil, "", "", err
	}
	priv, err := envelope.MarshalSigningPrivateKey(k)
	if err != nil {
		return nil, nil, "", "", err
	}
	pubKey = k.Public().(ed25519.PublicKey)
	if pub, err = envelope.MarshalSigningPublicKey(pubKey); err != nil {
		return nil, nil, "", "", err
	}
	privPath, pubPath = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	if err := writeKeyFile(privPath, priv, 0o600, force); err != nil {
		return nil, nil, "", "", err
	}
	if err := writeKeyFile(pubPath, pub, 0o644, force); err != nil {
		return nil, nil, "", "", err
	}
	return pubKey, pub, privPath, pubPath, nil
}

// writeKeyFile creates path with mode perm (never wider, whatever the
// umask), refusing to replace a file unless force.
func writeKeyFile(path string, data []byte, perm os.FileMode, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, perm)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists; use -force to replace it (devices sealing to or signing with the old key stop working)", path)
	}
	if err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Key files are named by their creation time, so the lexically last name is
// the current key: "20260102T150405.000000000Z-1a2b3c4d.pem". The name without
// ".pem" is the key id (kid) in token headers and the JWKS.
const keyTimeLayout = "20060102T150405.000000000Z"

// KeyBits is the size of generated RSA keys.
const KeyBits = 2048

// signingKey is one RSA key of the set. A key is retired when a newer key
// exists: its retirement time is the newer key's creation time, which the file
// names record, so no other metadata can go stale or be lost.
type signingKey struct {
	kid     string
	created time.Time
	retired time.Time // zero for the current key
	priv    *rsa.PrivateKey
}

// KeyInfo describes a key for the keys subcommand and logs.
type KeyInfo struct {
	ID      string
	Created time.Time
	// Retired is when a newer key replaced it (zero for the current key).
	Retired time.Time
	// Until is when it leaves the verification set (zero for the current key).
	Until time.Time
}

// KeySet is the RS256 key set: the newest key signs; every key retired less
// than the token TTL ago still verifies, because tokens it signed may still be
// alive. It reloads its directory so a rotation by `keys rotate` (or another
// replica) applies without a restart.
type KeySet struct {
	dir       string
	retention time.Duration
	now       func() time.Time
	minReload time.Duration

	mu         sync.RWMutex
	keys       []signingKey // oldest first; the last is current
	lastReload time.Time
}

// KeySetOptions configures a KeySet.
type KeySetOptions struct {
	// Dir holds the PEM private keys.
	Dir string
	// Retention is how long a retired key keeps verifying: the token TTL plus
	// the reload interval (a replica may sign with a key for up to one reload
	// interval after another replica rotated).
	Retention time.Duration
	// MinReload rate-limits reloads triggered by unknown key ids.
	MinReload time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// OpenKeySet loads the keys of o.Dir. With generate, an empty directory gets a
// new key (embedded mode); without, an empty directory is an error (production
// must be given keys).
func OpenKeySet(o KeySetOptions, generate bool) (*KeySet, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	k := &KeySet{dir: o.Dir, retention: o.Retention, now: o.Now, minReload: o.MinReload}
	if err := k.Reload(); err != nil {
		return nil, err
	}
	if len(k.keys) == 0 {
		if !generate {
			return nil, fmt.Errorf("JWT_KEYS_DIR %s holds no RSA private key (*.pem): add one with `control-plane keys rotate` or set JWT_SECRET", o.Dir)
		}
		if _, err := GenerateKey(o.Dir, o.Now()); err != nil {
			return nil, err
		}
		if err := k.Reload(); err != nil {
			return nil, err
		}
		if len(k.keys) == 0 {
			return nil, fmt.Errorf("no usable key in %s after generating one", o.Dir)
		}
	}
	return k, nil
}

// GenerateKey writes a new 2048-bit RSA key named by now into dir and returns
// its id. The file is created with O_EXCL and mode 0600, written to completion
// under a temporary name first, so a concurrent reader never sees half a key
// and two processes never overwrite each other.
func GenerateKey(dir string, now time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create key directory: %w", err)
	}
	priv, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return "", fmt.Errorf("generate RSA key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("encode RSA key: %w", err)
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	kid := now.UTC().Format(keyTimeLayout) + "-" + hex.EncodeToString(suffix[:])
	tmp := filepath.Join(dir, "."+kid+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- a new file in the operator-configured key directory
	if err != nil {
		return "", fmt.Errorf("create key file: %w", err)
	}
	werr := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("write key file: %w", err)
	}
	// Link fails when the name exists, unlike Rename: never clobber a key.
	if err := os.Link(tmp, filepath.Join(dir, kid+".pem")); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("publish key file: %w", err)
	}
	_ = os.Remove(tmp)
	return kid, nil
}

// Reload reads the directory again. Keys retired longer than the retention ago
// are not loaded.
func (k *KeySet) Reload() error {
	keys, err := readKeys(k.dir, k.now(), k.retention)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lastReload = k.now()
	if len(keys) > 0 || len(k.keys) == 0 {
		k.keys = keys
	}
	return nil
}

// reloadIfDue reloads unless a reload happened within minReload (an unknown
// kid must not let clients make us read the disk on every request).
func (k *KeySet) reloadIfDue() error {
	k.mu.RLock()
	due := k.now().Sub(k.lastReload) >= k.minReload
	k.mu.RUnlock()
	if !due {
		return nil
	}
	return k.Reload()
}

// current returns the signing key.
func (k *KeySet) current() (signingKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if len(k.keys) == 0 {
		return signingKey{}, false
	}
	return k.keys[len(k.keys)-1], true
}

// public returns the verification key of kid, reloading once when unknown.
func (k *KeySet) public(kid string) (*rsa.PublicKey, bool) {
	if pub, ok := k.lookup(kid); ok {
		return pub, true
	}
	if err := k.reloadIfDue(); err != nil {
		return nil, false
	}
	return k.lookup(kid)
}

func (k *KeySet) lookup(kid string) (*rsa.PublicKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	now := k.now()
	for _, key := range k.keys {
		if key.kid == kid && (key.retired.IsZero() || now.Before(key.retired.Add(k.retention))) {
			return &key.priv.PublicKey, true
		}
	}
	return nil, false
}

// Keys describes the keys in the set, oldest first.
func (k *KeySet) Keys() []KeyInfo {
	k.mu.RLock()
	defer k.mu.RUnlock()
	now := k.now()
	out := make([]KeyInfo, 0, len(k.keys))
	for _, key := range k.keys {
		if !key.retired.IsZero() && !now.Before(key.retired.Add(k.retention)) {
			continue
		}
		info := KeyInfo{ID: key.kid, Created: key.created, Retired: key.retired}
		if !key.retired.IsZero() {
			info.Until = key.retired.Add(k.retention)
		}
		out = append(out, info)
	}
	return out
}

// JWKS returns the public keys still verifying, oldest first.
func (k *KeySet) JWKS() JWKSet {
	k.mu.RLock()
	defer k.mu.RUnlock()
	now := k.now()
	set := JWKSet{Keys: []JWK{}}
	for _, key := range k.keys {
		if key.retired.IsZero() || now.Before(key.retired.Add(k.retention)) {
			set.Keys = append(set.Keys, publicJWK(key.kid, &key.priv.PublicKey))
		}
	}
	return set
}

// readKeys loads every *.pem of dir, oldest first, dropping keys retired more
// than retention before now and keys dated in the future (another machine's
// clock), which must not become current before their time.
func readKeys(dir string, now time.Time, retention time.Duration) ([]signingKey, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read key directory: %w", err)
	}
	var keys []signingKey
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".pem") || strings.HasPrefix(name, ".") {
			continue
		}
		key, err := readKey(filepath.Join(dir, name), e)
		if err != nil {
			return nil, err
		}
		if key.created.After(now.Add(time.Minute)) {
			continue
		}
		keys = append(keys, key)
	}
	slices.SortFunc(keys, func(a, b signingKey) int {
		if c := a.created.Compare(b.created); c != 0 {
			return c
		}
		return strings.Compare(a.kid, b.kid)
	})
	for i := 0; i+1 < len(keys); i++ {
		keys[i].retired = keys[i+1].created
	}
	return slices.DeleteFunc(keys, func(key signingKey) bool {
		return !key.retired.IsZero() && !now.Before(key.retired.Add(retention))
	}), nil
}

// readKey parses one PEM file (PKCS#8 or PKCS#1). A file whose name is not a
// creation time (a key an operator dropped in) is dated by its modification time.
func readKey(path string, e fs.DirEntry) (signingKey, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- a file of the operator-configured key directory
	if err != nil {
		return signingKey{}, fmt.Errorf("read key %s: %w", path, err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return signingKey{}, fmt.Errorf("key %s: no PEM block", path)
	}
	var priv *rsa.PrivateKey
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return signingKey{}, fmt.Errorf("key %s: %w", path, err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return signingKey{}, fmt.Errorf("key %s: not an RSA key", path)
		}
		priv = rk
	case "RSA PRIVATE KEY":
		if priv, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			return signingKey{}, fmt.Errorf("key %s: %w", path, err)
		}
	default:
		return signingKey{}, fmt.Errorf("key %s: PEM block %q is not a private key", path, block.Type)
	}
	if priv.N.BitLen() < KeyBits {
		return signingKey{}, fmt.Errorf("key %s: %d-bit RSA keys are too small (need %d)", path, priv.N.BitLen(), KeyBits)
	}
	kid := strings.TrimSuffix(filepath.Base(path), ".pem")
	stamp, _, _ := strings.Cut(kid, "-")
	created, err := time.Parse(keyTimeLayout, stamp)
	if err != nil {
		info, ierr := e.Info()
		if ierr != nil {
			return signingKey{}, fmt.Errorf("key %s: %w", path, ierr)
		}
		created = info.ModTime().UTC()
	}
	return signingKey{kid: kid, created: created, priv: priv}, nil
}

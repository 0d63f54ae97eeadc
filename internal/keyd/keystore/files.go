package keystore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// File names inside the key directory (see the package documentation).
const (
	identityFile = "identity.key"
	linkFile     = "link.key"
	sphinxDir    = "sphinx"
	tmpPrefix    = ".tmp-"
)

// maxEraseSize bounds the overwrite in eraseFile: key files are tiny, and a
// large file in the key directory is not ours to spend time on.
const maxEraseSize = 1 << 20

// checkPrivateDir refuses a key directory that group or others could use.
func checkPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s: mode %04o gives access to group or others; it must be 0700 (chmod 700 %s)", dir, perm, dir)
	}
	return nil
}

// makePrivateDir creates dir (and parents) with mode 0700 if needed and
// checks its mode.
func makePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return checkPrivateDir(dir)
}

// readKeyFile reads exactly len(dst) bytes from path into dst, which is
// secret memory: no copy is made on the heap. The file must be a regular
// file of exactly that size and must not be readable by group or others.
func readKeyFile(path string, dst []byte) error {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s: mode %04o gives access to group or others; it must be 0600", path, perm)
	}
	if fi.Size() != int64(len(dst)) {
		return fmt.Errorf("%s: %d bytes, want %d: not a key file of this kind, or damaged", path, fi.Size(), len(dst))
	}
	if _, err := io.ReadFull(f, dst); err != nil {
		clear(dst)
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeNewKeyFile writes data to dir/name, mode 0600, durably, and fails
// with an error wrapping fs.ErrExist if the name already exists: the file
// is written under a temporary name and hard-linked into place, which never
// replaces an existing file.
func writeNewKeyFile(dir, name string, data []byte) error {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := filepath.Join(dir, tmpPrefix+name+"-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = eraseFile(tmp)
		return fmt.Errorf("%s: %w", tmp, werr)
	}
	final := filepath.Join(dir, name)
	if err := os.Link(tmp, final); err != nil {
		_ = eraseFile(tmp) // not linked: the temporary name is the only one
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", final, fs.ErrExist)
		}
		return err
	}
	// Only the name goes: the inode now also has the final name.
	if err := os.Remove(tmp); err != nil {
		return err
	}
	return syncDir(dir)
}

// eraseFile overwrites a file with zeroes, syncs it and unlinks it.
func eraseFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		// Not openable (a symlink, say): still remove the name.
		return errors.Join(err, os.Remove(path))
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().IsRegular() && fi.Size() <= maxEraseSize {
		zero := make([]byte, fi.Size())
		if _, err = f.WriteAt(zero, 0); err == nil {
			err = f.Sync()
		}
	}
	_ = f.Close()
	if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		return errors.Join(err, rerr)
	}
	return errors.Join(err, syncDir(filepath.Dir(path)))
}

// syncDir makes a directory's entries durable after a create or unlink.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// exists reports whether path names anything (even a dangling symlink).
func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, err
}

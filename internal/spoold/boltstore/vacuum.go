package boltstore

import (
	bolt "go.etcd.io/bbolt"
)

// vacuumed counts what vacuum removed.
type vacuumed struct {
	// spools whose user no longer exists, left by a crash between the two
	// commits of a user's removal.
	spools int
	// marks whose user no longer exists. No commit of this package leaves
	// one (the user and its mark are written and deleted together), but a
	// database edited by hand or by another version might, and a stray
	// mark would make a later user of that name ephemeral.
	marks int
}

// vacuum removes the spools and the ephemeral marks whose user no longer
// exists.
func (s *Store) vacuum() (vacuumed, error) {
	var v vacuumed
	if err := s.vacuumMarks(&v); err != nil {
		return v, err
	}
	var orphans [][]byte
	err := s.spool.View(func(stx *bolt.Tx) error {
		return s.users.View(func(utx *bolt.Tx) error {
			users := utx.Bucket(bucketUsers)
			return stx.Bucket(bucketSpool).ForEachBucket(func(name []byte) error {
				if users.Get(name) == nil {
					orphans = append(orphans, append([]byte(nil), name...))
				}
				return nil
			})
		})
	})
	if err != nil || len(orphans) == 0 {
		return v, err
	}
	err = s.spool.Update(func(tx *bolt.Tx) error {
		for _, name := range orphans {
			if err := deleteSpool(tx, name); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		v.spools = len(orphans)
	}
	return v, err
}

// vacuumMarks deletes the marks without a user, in one commit of the user
// database (only when there is one to delete).
func (s *Store) vacuumMarks(v *vacuumed) error {
	var orphans [][]byte
	err := s.users.View(func(tx *bolt.Tx) error {
		users := tx.Bucket(bucketUsers)
		return tx.Bucket(bucketEphemeral).ForEach(func(name, _ []byte) error {
			if users.Get(name) == nil {
				orphans = append(orphans, append([]byte(nil), name...))
			}
			return nil
		})
	})
	if err != nil || len(orphans) == 0 {
		return err
	}
	err = s.users.Update(func(tx *bolt.Tx) error {
		marks := tx.Bucket(bucketEphemeral)
		for _, name := range orphans {
			if err := marks.Delete(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		v.marks = len(orphans)
	}
	return err
}

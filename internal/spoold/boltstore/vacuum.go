package boltstore

import (
	bolt "go.etcd.io/bbolt"
)

// vacuum removes the spools whose user no longer exists, left by a crash
// between the two commits of a user's removal, and returns how many.
func (s *Store) vacuum() (int, error) {
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
		return 0, err
	}
	err = s.spool.Update(func(tx *bolt.Tx) error {
		for _, name := range orphans {
			if err := deleteSpool(tx, name); err != nil {
				return err
			}
		}
		return nil
	})
	return len(orphans), err
}

//go:build mongov2

package store

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Store is the database of the command line, connected while the package
// initializes (as programs do in a package-level var), which may be
// before weft/rt is initialized.
type Store struct{ db *mongo.Database }

func connect(uri, db string) (*Store, error) {
	m := &event.CommandMonitor{
		Started:   func(context.Context, *event.CommandStartedEvent) { Started.Add(1) },
		Succeeded: func(context.Context, *event.CommandSucceededEvent) { Succeeded.Add(1) },
		Failed:    func(context.Context, *event.CommandFailedEvent) { Failed.Add(1) },
	}
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetMonitor(m))
	if err != nil {
		return nil, err
	}
	return &Store{c.Database(db)}, nil
}

func (s *Store) InsertOne(ctx context.Context, coll, id, name string) error {
	_, err := s.db.Collection(coll).InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "name", Value: name}})
	return err
}

func (s *Store) FindOne(ctx context.Context, coll, id string) (string, error) {
	var doc struct{ Name string }
	err := s.db.Collection(coll).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc)
	return doc.Name, err
}

func (s *Store) InsertMany(ctx context.Context, coll string, n int) error {
	docs := make([]interface{}, n)
	for i := range docs {
		docs[i] = bson.D{{Key: "n", Value: i}}
	}
	_, err := s.db.Collection(coll).InsertMany(ctx, docs)
	return err
}

func (s *Store) ReadAll(ctx context.Context, coll string, batch int32) (int, error) {
	cur, err := s.db.Collection(coll).Find(ctx, bson.D{}, options.Find().SetBatchSize(batch))
	if err != nil {
		return 0, err
	}
	defer cur.Close(ctx)
	n := 0
	for cur.Next(ctx) {
		n++
	}
	return n, cur.Err()
}

func (s *Store) Run(ctx context.Context, cmd string, value interface{}) error {
	return s.db.RunCommand(ctx, bson.D{{Key: cmd, Value: value}}).Err()
}

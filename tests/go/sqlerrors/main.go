// Command sqlerrors runs failing queries through database/sql with real
// drivers, for weft's test of error spans: the same missing table through
// go-sql-driver/mysql (MYSQL_DSN), lib/pq and pgx's stdlib driver
// (POSTGRES_DSN), modernc.org/sqlite (in memory), and a query whose
// argument cannot be sent. It prints
// each error ("DRIVER: ERROR") and exits.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/lib/pq"
	_ "modernc.org/sqlite"
)

func main() {
	ctx := context.Background()
	pg := os.Getenv("POSTGRES_DSN")
	for _, d := range []struct{ driver, dsn string }{
		{"mysql", os.Getenv("MYSQL_DSN")},
		{"postgres", pg},
		{"pgx", pg},
		{"sqlite", ":memory:"},
	} {
		db, err := sql.Open(d.driver, d.dsn)
		if err != nil {
			log.Fatal(err)
		}
		_, err = db.ExecContext(ctx, "SELECT * FROM weft_missing")
		fmt.Printf("%s: %v\n", d.driver, err)
		if d.driver == "mysql" {
			_, err = db.QueryContext(ctx, "SELECT ?", struct{}{})
			fmt.Printf("argument: %v\n", err)
		}
		db.Close()
	}
}

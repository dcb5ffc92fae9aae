package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/ferry-cd/ferry/internal/store"
)

func testDeliveries(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	newProject(t, s, "api")
	add := func(project, id string, keep int) bool {
		t.Helper()
		fresh, err := s.AddDelivery(ctx, project, id, t0, keep)
		must(t, err)
		return fresh
	}
	if !add("web", "d1", 3) {
		t.Fatal("a new delivery id was reported seen")
	}
	if add("web", "d1", 3) {
		t.Error("a delivery id sent again was reported new")
	}
	// Ids are per project: another project's delivery may carry the same id.
	if !add("api", "d1", 3) {
		t.Error("a delivery id of another project was reported seen")
	}
	// Only the newest keep ids are kept: d1 is forgotten after three more.
	for i := 2; i <= 4; i++ {
		if !add("web", fmt.Sprintf("d%d", i), 3) {
			t.Fatalf("d%d reported seen", i)
		}
	}
	if !add("web", "d1", 3) {
		t.Error("the oldest id was kept beyond the bound")
	}
	if add("web", "d4", 3) {
		t.Error("a recent id was forgotten")
	}
	if add("api", "d1", 3) {
		t.Error("bounding one project's ids forgot another project's")
	}
	// A removed id may come again.
	must(t, s.RemoveDelivery(ctx, "web", "d4"))
	must(t, s.RemoveDelivery(ctx, "web", "never"))
	if !add("web", "d4", 3) {
		t.Error("a removed id is still seen")
	}
	_, err := s.AddDelivery(ctx, "nope", "d1", t0, 3)
	wantErr(t, "delivery of a missing project", err, store.ErrNotFound)
	// Deleting a project forgets its deliveries.
	must(t, s.DeleteProject(ctx, "web"))
	newProject(t, s, "web")
	if !add("web", "d4", 3) {
		t.Error("a new project of the same name inherited the old one's delivery ids")
	}
}

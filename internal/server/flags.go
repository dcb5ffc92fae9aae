package server

import (
	"errors"
	"net/http"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/flagruntime"
	"github.com/ferry-cd/ferry/internal/store"
)

func viewFlags(project, env string, l *flagruntime.LiveFlags) api.FlagsView {
	v := api.FlagsView{Project: project, Env: env, ReleaseID: l.Release, ReleaseVersion: l.ReleaseVersion, Flags: []api.FlagView{}}
	for _, key := range l.Set.Keys() {
		f, _ := l.Set.Flag(key)
		fv := api.FlagView{Key: key, Type: f.Type().String(), Default: f.Default(), Disabled: f.Disabled(), Git: flagruntime.GitVariant(l.Set, key)}
		for _, name := range f.Variants() {
			val, _ := f.Value(name)
			fv.Variants = append(fv.Variants, api.VariantView{Name: name, Value: val})
		}
		for _, o := range l.Overrides {
			if o.Flag == key {
				fv.Override = viewFlagOverride(&o)
				fv.Drift = fv.Git != o.Variant
			}
		}
		if p, ok := f.Progressive(); ok {
			fv.Progressive = flagruntime.ProgressiveSpec(p)
			if fr := l.FlagRollouts[key]; fr != nil && fr.Spec == fv.Progressive {
				fv.FlagRollout = viewFlagRollout(fr)
			}
		}
		v.Flags = append(v.Flags, fv)
	}
	return v
}

func (s *Server) listFlags(r *http.Request, project string, _ none) (*api.FlagsView, error) {
	env := r.PathValue("env")
	l, err := s.flags.Load(r.Context(), project, env)
	if err != nil {
		return nil, storeFailure(err, "flags")
	}
	v := viewFlags(project, env, l)
	for i, f := range v.Flags {
		if f.FlagRollout != nil {
			evs, err := s.store.FlagRolloutEvents(r.Context(), f.FlagRollout.ID)
			if err != nil {
				return nil, storeFailure(err, "flag rollout events")
			}
			v.Flags[i].Events = viewAll(evs, viewFlagRolloutEvent)
		}
	}
	return &v, nil
}

func (s *Server) setOverride(r *http.Request, project string, req api.OverrideRequest) (*api.FlagOverride, error) {
	env, key := r.PathValue("env"), r.PathValue("flag")
	l, err := s.flags.Load(r.Context(), project, env)
	if err != nil {
		return nil, storeFailure(err, "flags")
	}
	if err := l.CheckOverride(project, env, key, req.Variant); err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*flagruntime.NotLiveError](err); ok {
			status = http.StatusNotFound
		}
		return nil, fail(status, "%v", err)
	}
	o := &store.FlagOverride{Project: project, Env: env, Flag: key, Variant: req.Variant, Actor: callerName(r)}
	if err := s.flags.SetOverride(r.Context(), o); err != nil {
		return nil, storeFailure(err, "override")
	}
	s.audit(r, "flag.override", project, flagruntime.AuditTarget(env, key), "variant "+req.Variant)
	return viewFlagOverride(o), nil
}

func (s *Server) clearOverride(r *http.Request, project string, _ none) (none, error) {
	env, key := r.PathValue("env"), r.PathValue("flag")
	if err := s.flags.ClearOverride(r.Context(), project, env, key); err != nil {
		return none{}, storeFailure(err, "override of flag "+key)
	}
	s.audit(r, "flag.clear", project, flagruntime.AuditTarget(env, key), "")
	return none{}, nil
}

package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/api"
)

func (a *app) projectCommand() *cobra.Command {
	c := &cobra.Command{Use: "project", Short: "Add, list and remove projects", Args: maxArgs(0)}
	var req api.ProjectRequest
	add := &cobra.Command{
		Use:   "add NAME --repo URL",
		Short: "Follow a repository's branch: poll it, accept its webhooks, run its pipeline",
		Long: `Follow a repository's branch. The URL is anything git can fetch: a path, file://, http(s):// or ssh.
With --poll the server asks for the branch head at that interval (its first poll runs the current head); with
--webhook-secret it accepts signed push webhooks at POST /api/v1/projects/NAME/webhook (GitHub, GitLab, Gitea).

The server first asks the repository for its branches (git ls-remote, with the credentials written in the URL)
and refuses a repository it cannot reach or a branch it does not have, naming the branches it has; an empty
repository is accepted (its first push makes the branch). --no-check skips this, for a private repository whose
token you will set afterwards as the project secret FERRY_REPO_TOKEN.`,
		Args: exactArgs(1, "a project NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			req.Name = args[0]
			if req.Repo == "" {
				return usageError{msg: "project add needs --repo URL"}
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			p, err := cl.AddProject(c.Context(), req)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(p)
			}
			fmt.Fprintf(a.stdout, "project %s follows %s of %s (poll %s, webhook %v)\n", p.Name, p.Branch, p.Repo, p.Poll, yesNo(p.Webhook))
			if p.Notice != "" {
				fmt.Fprintf(a.stdout, "note: %s\n", p.Notice)
			}
			return nil
		},
	}
	add.Flags().StringVar(&req.Repo, "repo", "", "repository URL or path (required)")
	add.Flags().StringVar(&req.Branch, "branch", "main", "branch to follow")
	add.Flags().StringVar(&req.Poll, "poll", "30s", "polling interval; 0 for none")
	add.Flags().StringVar(&req.WebhookSecret, "webhook-secret", "", "secret that push webhooks are signed with")
	add.Flags().IntVar(&req.Concurrency, "concurrency", 2, "runs of this project at once")
	add.Flags().BoolVar(&req.NoCheck, "no-check", false, "add the project without asking the repository whether it answers and has the branch")
	add.Flags().StringVar(&req.StatusProvider, "status-provider", "", "report commit statuses to github, gitlab or gitea (token: ferry secret set NAME FERRY_STATUS_TOKEN)")
	add.Flags().StringVar(&req.StatusAPI, "status-api", "", "the forge API's base URL, e.g. https://api.github.com")
	add.Flags().StringVar(&req.StatusRepo, "status-repo", "", "owner/name (GitHub, Gitea) or the GitLab project id or path")
	add.Flags().StringArrayVar(&req.NotifyWebhook, "notify-webhook", nil, "send this project's events as signed JSON to this URL too (repeatable)")
	add.Flags().StringArrayVar(&req.NotifySlack, "notify-slack", nil, "send this project's events to this Slack-compatible incoming webhook too (repeatable)")
	a.addJSON(add)

	list := &cobra.Command{
		Use:   "list",
		Short: "List projects",
		Args:  maxArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			ps, err := cl.Projects(c.Context())
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(ps)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "NAME\tREPO\tBRANCH\tPOLL\tWEBHOOK\tHEAD\tPOLL ERROR")
			for _, p := range ps {
				pollErr := "-"
				if e := p.PollError; e != nil {
					pollErr = fmt.Sprintf("%s: %s", ago(e.At), e.Message)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Repo, p.Branch, p.Poll, yesNo(p.Webhook), short(p.Head), pollErr)
			}
			return tw.Flush()
		},
	}
	a.addJSON(list)

	rm := &cobra.Command{
		Use:   "rm NAME",
		Short: "Stop following a project and delete its runs, releases and secrets",
		Args:  exactArgs(1, "a project NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			if err := cl.DeleteProject(c.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "project %s removed\n", args[0])
			return nil
		},
	}
	c.AddCommand(add, list, rm)
	return c
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (a *app) releasesCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "releases PROJECT",
		Short: "List a project's releases, newest first",
		Args:  exactArgs(1, "a PROJECT"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			rels, err := cl.Releases(c.Context(), args[0])
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(rels)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "RELEASE\tCOMMIT\tRUN\tCREATED\tBUNDLE\tMESSAGE")
			for _, r := range rels {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.19s\t%s\n", api.VersionText(r.Version), short(r.Commit), r.RunID, ago(r.CreatedAt), r.Bundle, firstLine(r.Message))
			}
			return tw.Flush()
		},
	}
	a.addJSON(c)
	return c
}

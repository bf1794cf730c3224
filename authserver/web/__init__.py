"""What every page needs: browser id and login session, CSRF, rendering, error pages, paths."""

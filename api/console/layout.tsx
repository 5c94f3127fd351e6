import type { Child } from "hono/jsx";

const PAGES = [
  ["/console", "pipelines"],
  ["/console/topics", "topics"],
  ["/console/groups", "consumer groups"],
  ["/console/dlq", "dead letters"],
  ["/console/stand-ins", "stand-ins"],
] as const;

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330}
nav{background:#1d2330;padding:10px 20px}nav a{color:#fff;margin-right:18px;text-decoration:none}nav a.here{font-weight:700;text-decoration:underline}
main{padding:16px 20px}table{border-collapse:collapse;margin:8px 0 18px}td,th{border-bottom:1px solid #dde;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f3f4f8}.bad{color:#b00020}.ok{color:#12715b}pre{margin:0;white-space:pre-wrap;max-width:70em;font-size:12px}
form.inline{display:inline}input,select,button{font:inherit;margin-right:6px}.muted{color:#667}`;

/** Every console page: the navigation and its own content; no script, one small stylesheet. */
export function Layout({ title, path, children }: { title: string; path: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>{`${title} · cdp console`}</title>
        <style>{STYLE}</style>
      </head>
      <body>
        <nav>
          {PAGES.map(([href, label]) => (
            <a href={href} class={path === href ? "here" : ""}>
              {label}
            </a>
          ))}
        </nav>
        <main>
          <h1>{title}</h1>
          {children}
        </main>
      </body>
    </html>
  );
}

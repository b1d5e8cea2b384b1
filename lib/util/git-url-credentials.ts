/**
 * A git URL's userinfo (`https://user:token@host/repo`) moved off the command line, where any process on the host
 * reads it in /proc/<pid>/cmdline: the URL without it, and the environment that gives git the same credential as
 * an `http.<url>.extraHeader` config entry (GIT_CONFIG_COUNT/KEY_n/VALUE_n, git 2.31+), appended to any the
 * user set. Other URLs come back unchanged, with no variables.
 */
export function gitUrlCredentials(url: string, env: Readonly<Record<string, string | undefined>>): { url: string; env: Record<string, string> } {
  let u: URL
  try { u = new URL(url) } catch { return { url, env: {} } }
  if (!/^https?:$/.test(u.protocol) || (!u.username && !u.password)) return { url, env: {} }
  const user = decodeURIComponent(u.username)
  const password = decodeURIComponent(u.password)
  u.username = ''
  u.password = ''
  const bare = u.href
  const n = Number(env.GIT_CONFIG_COUNT) || 0
  const basic = Buffer.from(`${user}:${password}`).toString('base64')
  return {
    url: bare,
    env: {
      GIT_CONFIG_COUNT: String(n + 1),
      [`GIT_CONFIG_KEY_${n}`]: `http.${bare}.extraHeader`,
      [`GIT_CONFIG_VALUE_${n}`]: `Authorization: Basic ${basic}`,
    },
  }
}

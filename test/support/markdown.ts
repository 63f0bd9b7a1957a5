/** The body of the first fenced code block after `marker` in a Markdown text (guides test their own code). */
export function blockAfter(markdown: string, marker: string): string {
  const start = markdown.indexOf(marker);
  if (start < 0) throw new Error(`marker "${marker}" not found`);
  const match = /```\w*\n([\s\S]*?)```/.exec(markdown.slice(start));
  if (!match) throw new Error(`no code block after "${marker}"`);
  return match[1]!;
}

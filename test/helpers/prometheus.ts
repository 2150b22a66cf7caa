import { parser } from '@prometheus-io/lezer-promql';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** What a `/metrics` page (Prometheus text exposition format) serves. */
export interface Exposition {
  /** Metric family → its `# TYPE` (counter, gauge, histogram, summary, untyped). */
  types: Map<string, string>;
  /** Sample name (`x_bucket`, `x_total`, …) → label name → every value seen. */
  samples: Map<string, Map<string, Set<string>>>;
  /** Sample name → the values of its samples with exactly these labels (`le` included), as `{a="b"}` keys. */
  values: Map<string, Map<string, number>>;
}

const LABEL = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;
const unescape = (v: string): string => v.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));

/** Parses the text exposition format; throws on a line it cannot read. */
export function parseExposition(text: string): Exposition {
  const out: Exposition = { types: new Map(), samples: new Map(), values: new Map() };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) out.types.set(type[1]!, type[2]!);
    if (line.startsWith('#')) continue;
    const head = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{)?/.exec(line);
    if (!head) throw new Error(`cannot read the sample line ${JSON.stringify(line)}`);
    const name = head[1]!;
    const labels: [string, string][] = [];
    let rest = line.slice(head[0].length);
    if (head[2]) {
      LABEL.lastIndex = 0;
      let m: RegExpExecArray | null;
      let used = 0;
      while ((m = LABEL.exec(rest)) !== null) {
        labels.push([m[1]!, unescape(m[2]!)]);
        used = LABEL.lastIndex;
      }
      if (rest[used] !== '}') throw new Error(`cannot read the labels of ${JSON.stringify(line)}`);
      rest = rest.slice(used + 1);
    }
    const value = Number(rest.trim().split(/\s+/)[0]);
    const byLabel = out.samples.get(name) ?? new Map<string, Set<string>>();
    for (const [k, v] of labels) byLabel.set(k, (byLabel.get(k) ?? new Set()).add(v));
    out.samples.set(name, byLabel);
    const key = `{${labels.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
    out.values.set(name, (out.values.get(name) ?? new Map<string, number>()).set(key, value));
  }
  return out;
}

export interface Matcher {
  label: string;
  op: string;
  value: string;
}

/** The metrics, label matchers and grouping labels a PromQL expression names. */
export interface PromqlUses {
  selectors: { metric: string; matchers: Matcher[] }[];
  /** Labels of `by (…)`, `without (…)`, `on (…)`, `ignoring (…)`, with the metrics of the expression they group. */
  groupings: { label: string; metrics: string[] }[];
  /** Whether the expression aggregates (then only grouping labels survive into its result). */
  aggregates: boolean;
  /** Syntax errors, as the text around them. */
  errors: string[];
}

/** Grafana's variables, replaced by values PromQL can parse: intervals by `5m`, anything else by `VAR`. */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, '5m')
    .replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, 'VAR');
}

function metricsUnder(node: SyntaxNode, text: string): string[] {
  const names: string[] = [];
  const cursor = node.cursor();
  const end = node.to;
  do {
    if (cursor.from >= end) break;
    if (cursor.name === 'VectorSelector') {
      const id = cursor.node.getChild('Identifier');
      if (id) names.push(text.slice(id.from, id.to));
    }
  } while (cursor.next());
  return names;
}

/** Parses `expr` with the Prometheus project's own PromQL grammar and lists what it names. */
export function promqlUses(expr: string): PromqlUses {
  const text = substituteGrafanaVariables(expr);
  const uses: PromqlUses = { selectors: [], groupings: [], aggregates: false, errors: [] };
  parser.parse(text).iterate({
    enter: (ref) => {
      const node = ref.node;
      if (ref.type.isError) uses.errors.push(`…${text.slice(Math.max(0, ref.from - 20), ref.to + 20)}…`);
      if (ref.name === 'AggregateExpr') uses.aggregates = true;
      if (ref.name === 'VectorSelector') {
        const id = node.getChild('Identifier');
        const matchers = node
          .getChild('LabelMatchers')
          ?.getChildren('UnquotedLabelMatcher')
          .map((m) => {
            const part = (name: string): string => {
              const child = m.getChild(name);
              return child ? text.slice(child.from, child.to) : '';
            };
            return {
              label: part('LabelName'),
              op: part('MatchOp'),
              value: JSON.parse(part('StringLiteral')) as string,
            };
          });
        uses.selectors.push({ metric: id ? text.slice(id.from, id.to) : '', matchers: matchers ?? [] });
      }
      if (ref.name === 'GroupingLabels') {
        let scope: SyntaxNode | null = node.parent;
        while (scope && scope.name !== 'AggregateExpr' && scope.name !== 'BinaryExpr') scope = scope.parent;
        const metrics = scope ? metricsUnder(scope, text) : [];
        for (const label of node.getChildren('LabelName'))
          uses.groupings.push({ label: text.slice(label.from, label.to), metrics });
      }
    },
  });
  return uses;
}

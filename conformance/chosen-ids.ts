// Identifiers an implementation chooses for itself, learnt as the runner goes. A topic id is Kafka's
// random Uuid (R121 leaves it free; openkraft derives it from the name and offset so runs replay):
// when the implementation proposes a TopicRecord for a name the spec proposes one for, its id stands
// for the spec's from then on. Inputs are handed over with the implementation's ids, and its effects
// and state are read back with the spec's, so nothing else about ids is compared.

/** Every TopicRecord in a value (effects, records), by topic name. */
export const topicRecords = (value: unknown, out = new Map<string, string>()): Map<string, string> => {
  if (Array.isArray(value)) for (const v of value) topicRecords(v, out);
  else if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (o["_tag"] === "TopicRecord" && typeof o["name"] === "string" && typeof o["topicId"] === "string")
      out.set(o["name"], o["topicId"]);
    else for (const v of Object.values(o)) topicRecords(v, out);
  }
  return out;
};

/** Every string equal to a key of `names`, replaced by its value. */
const rename = <T>(value: T, names: ReadonlyMap<string, string>): T => {
  if (names.size === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return names.get(v) ?? v;
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object")
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
};

export class ChosenIds {
  private readonly toImpl = new Map<string, string>();
  private readonly toSpec = new Map<string, string>();

  /**
   * Learn the implementation's topic ids from one step: a TopicRecord it proposes for a name the spec
   * proposes one for. An id the implementation already used for another topic is not learnt (the
   * comparison then shows the clash).
   */
  learn(expected: readonly unknown[], actual: readonly unknown[]): void {
    const spec = topicRecords(expected);
    const impl = topicRecords(actual);
    for (const [name, specId] of spec) {
      const implId = impl.get(name);
      if (implId === undefined || implId === specId || this.toImpl.has(specId) || this.toSpec.has(implId))
        continue;
      this.toImpl.set(specId, implId);
      this.toSpec.set(implId, specId);
    }
  }

  /** A value for the implementation: the spec's ids replaced by its own. */
  forImplementation<T>(value: T): T {
    return rename(value, this.toImpl);
  }

  /** A value from the implementation, read with the spec's ids. */
  fromImplementation<T>(value: T): T {
    return rename(value, this.toSpec);
  }
}

// How a search worker rebuilds the model the main thread explores: the module that exports the model's
// factory and the argument it was called with. Kept outside the model object (a WeakMap), so that a
// model derived from another by spreading it (other properties, another step) never passes for the
// original: only the factory's own result has a recipe, and a model without one is searched in one
// thread. A factory gives a recipe only when its encoding is the same words in every thread (nothing
// interned per instance or per module, or interned in shared memory the recipe's argument carries):
// the search thread decodes and fingerprints workers' words.

export interface ModelRecipe {
  /** The URL of the module that exports the factory (its own import.meta.url). */
  readonly module: string;
  readonly factory: string;
  /** The factory's argument: plain data that survives structured cloning. */
  readonly argument: unknown;
}

const recipes = new WeakMap<object, ModelRecipe>();

/** Record how `model` was built; returns it. */
export const withRecipe = <M extends object>(model: M, recipe: ModelRecipe): M => {
  recipes.set(model, recipe);
  return model;
};

export const recipeOf = (model: object): ModelRecipe | undefined => recipes.get(model);

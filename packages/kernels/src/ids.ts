/** Checks ids on the host before a kernel reads them: a wrong id would read outside its matrix. */
export function checkIds(ids: ArrayLike<number>, size: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!(id >= 0 && id < size && Number.isInteger(id))) {
      throw new Error(`rnnlm kernels: token id ${id} at position ${i} is not in [0, ${size})`);
    }
  }
}

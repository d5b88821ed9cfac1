export { Unit } from './unit';
export { Procedure } from './procedure';
export { Dossier } from './dossier';
export { Contact } from './contact';
export { Flow } from './flow';
export { Session } from './session';
export { Response } from './response';
export { Answer } from './answer';
